package ratelimit

import (
	"context"
	"os"
	"strconv"
	"testing"
)

// BenchmarkAllowLocal measures one decision in process, spread over 1000 keys.
func BenchmarkAllowLocal(b *testing.B) {
	l, err := New(context.Background(), Config{}, quietLog(), nil)
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "bench-" + strconv.Itoa(i)
	}
	i := 0
	for b.Loop() {
		i++
		l.Allow(context.Background(), keys[i%len(keys)], 1_000_000)
	}
}

// BenchmarkAllowRedis measures one decision through Redis at REDIS_URL, one round trip each.
func BenchmarkAllowRedis(b *testing.B) {
	url := redisURLForBench(b)
	l, err := New(context.Background(), Config{RedisURL: url}, quietLog(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "bench-" + strconv.Itoa(i)
	}
	i := 0
	for b.Loop() {
		i++
		l.Allow(context.Background(), keys[i%len(keys)], 1_000_000)
	}
	if !l.UsingRedis() {
		b.Fatal("the benchmark fell back to local counting; Redis did not answer in time")
	}
}

func redisURLForBench(b *testing.B) string {
	b.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		b.Skip("REDIS_URL is not set")
	}
	return url
}
