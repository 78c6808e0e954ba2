package protoconv

import (
	"fmt"
	"strings"
	"testing"
)

// benchOrder is an Order with 5 items and every other field set.
func benchOrder() string {
	var items []string
	for i := 1; i <= 5; i++ {
		items = append(items, fmt.Sprintf(`{"sku":"SKU-%04d","count":%d}`, i, i*3))
	}
	return `{"id":"order-2024-000123","quantity":"15","price":129.95,"items":[` + strings.Join(items, ",") +
		`],"status":"STATUS_PAID","labels":{"channel":"web","region":"eu-west"},"gift":true,` +
		`"note":"cGxlYXNlIHdyYXAgaXQ=","customer":{"name":"Ann Example","email":"ann@example.com"}}`
}

func BenchmarkToJSON(b *testing.B) {
	order := message(b, testSet(b), "raygate.demo.v1.Order")
	wire, err := order.FromJSON([]byte(benchOrder()), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := order.ToJSON(wire, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromJSON(b *testing.B) {
	order := message(b, testSet(b), "raygate.demo.v1.Order")
	js := []byte(benchOrder())
	b.SetBytes(int64(len(js)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := order.FromJSON(js, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
