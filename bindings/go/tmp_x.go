package vsync
import "os"
var osLookup = os.LookupEnv
