//go:build vsync_testing

package vsync

import (
	"context"
	"testing"
)

// Benchmarks (scripts/bench-go.sh): a cold Open against the local S3 server, and GetEnv per
// call next to a plain Go map lookup. They need the server (scripts/with-s3.sh) and fail
// without it.

func BenchmarkOpenCold(b *testing.B) {
	s := testServer(b)
	config := pushed(b, s)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := OpenWith(ctx, config, testPassphrase)
		if err != nil {
			b.Fatal(err)
		}
		v.Close()
	}
}

func benchVault(b *testing.B) *Vsync {
	b.Helper()
	s := testServer(b)
	v, err := OpenWith(context.Background(), pushed(b, s), testPassphrase)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	return v
}

func BenchmarkGetEnvVault(b *testing.B) {
	v := benchVault(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := v.GetEnv("DATABASE_URL"); !ok {
			b.Fatal("missing")
		}
	}
}

func BenchmarkGetEnvMissing(b *testing.B) {
	v := benchVault(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := v.GetEnv("NOT_THERE_AT_ALL"); ok {
			b.Fatal("found")
		}
	}
}

func BenchmarkGetEnvParallel(b *testing.B) {
	v := benchVault(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := v.GetEnv("DATABASE_URL"); !ok {
				b.Fatal("missing")
			}
		}
	})
}

var sinkString string

func BenchmarkMapLookup(b *testing.B) {
	m := map[string]string{"DATABASE_URL": "postgres://app@db/dev", "API_TOKEN": "tok", "SHARED": "x"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, ok := m["DATABASE_URL"]
		if !ok {
			b.Fatal("missing")
		}
		sinkString = v
	}
}
