// Command structload fills a configuration struct from the vault with github.com/caarlos0/env:
// Environ() is the resolved view (the vault, else the process environment, else the defaults),
// handed to the loader in place of the process environment, so every tag, default and parser
// of the loader works unchanged. Being an example over sample data, it prints what it loaded.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/caarlos0/env/v11"
	vsync "github.com/muthuishere/vsync-s3-client/bindings/go"
)

type Config struct {
	DatabaseURL string        `env:"DATABASE_URL,required"`
	Port        int           `env:"PORT" envDefault:"8080"`
	Timeout     time.Duration `env:"TIMEOUT" envDefault:"5s"`
	Features    []string      `env:"FEATURES" envSeparator:","`
	Database    struct {
		Pool int `env:"POOL" envDefault:"4"`
	} `envPrefix:"DB_"`
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := vsync.Open(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer v.Close()

	var cfg Config
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: v.Environ()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("database_url=%s port=%d timeout=%s features=%q db_pool=%d\n",
		cfg.DatabaseURL, cfg.Port, cfg.Timeout, cfg.Features, cfg.Database.Pool)
}
