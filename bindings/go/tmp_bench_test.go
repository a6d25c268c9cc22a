package vsync

import "testing"

func BenchmarkTmpGetEnv(b *testing.B) {
	v, err := testingOpenPayload([]byte(`{"kv":{"DATABASE_URL":"postgres://app@db/dev"}}`), "t", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	for i := 0; i < b.N; i++ {
		v.GetEnv("DATABASE_URL")
	}
}
func BenchmarkTmpGeneration(b *testing.B) {
	v, _ := testingOpenPayload([]byte(`{"kv":{"DATABASE_URL":"postgres://app@db/dev"}}`), "t", nil)
	defer v.Close()
	for i := 0; i < b.N; i++ {
		v.Generation()
	}
}
func BenchmarkTmpSource(b *testing.B) {
	v, _ := testingOpenPayload([]byte(`{"kv":{"DATABASE_URL":"postgres://app@db/dev"}}`), "t", nil)
	defer v.Close()
	for i := 0; i < b.N; i++ {
		v.EnvSource("DATABASE_URL")
	}
}
func BenchmarkTmpLookupEnv(b *testing.B) {
	for i := 0; i < b.N; i++ {
		lookupSink, _ = osLookup("DATABASE_URL")
	}
}
func BenchmarkTmpAbi(b *testing.B) {
	for i := 0; i < b.N; i++ {
		abiVersions()
	}
}
var lookupSink string
