package protoconv

import (
	"bytes"
	"math"
	"math/rand"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// randomOrder fills an Order through dynamicpb with values chosen to reach
// the JSON mapping's corners: empty and non-ASCII strings, int64 beyond
// float precision, special doubles, enum numbers the enum lacks (proto3
// enums are open), empty and repeated-key maps, empty bytes.
func randomOrder(r *rand.Rand, m *Message) protoreflect.Message {
	msg := m.typ.New()
	fields := m.desc.Fields()
	set := func(name string, v protoreflect.Value) {
		msg.Set(fields.ByName(protoreflect.Name(name)), v)
	}
	if r.Intn(4) > 0 {
		set("id", protoreflect.ValueOfString(randomString(r)))
	}
	if r.Intn(4) > 0 {
		q := []int64{0, 1, -1, math.MaxInt64, math.MinInt64, 1 << 53, 1<<53 + 1, r.Int63(), -r.Int63()}
		set("quantity", protoreflect.ValueOfInt64(q[r.Intn(len(q))]))
	}
	if r.Intn(4) > 0 {
		p := []float64{0, math.Copysign(0, -1), 1.5, -2.25, math.MaxFloat64, math.SmallestNonzeroFloat64,
			math.Inf(1), math.Inf(-1), math.NaN(), 1e21, 1e-7, r.NormFloat64() * 1e6, r.Float64()}
		set("price", protoreflect.ValueOfFloat64(p[r.Intn(len(p))]))
	}
	if n := r.Intn(5); n > 0 {
		items := msg.Mutable(fields.ByName("items")).List()
		for i := 0; i < n; i++ {
			it := items.NewElement().Message()
			itf := it.Descriptor().Fields()
			if r.Intn(2) == 0 {
				it.Set(itf.ByName("sku"), protoreflect.ValueOfString(randomString(r)))
			}
			if r.Intn(2) == 0 {
				c := []int32{0, 1, -1, math.MaxInt32, math.MinInt32, r.Int31()}
				it.Set(itf.ByName("count"), protoreflect.ValueOfInt32(c[r.Intn(len(c))]))
			}
			items.Append(protoreflect.ValueOfMessage(it))
		}
	}
	if r.Intn(3) > 0 {
		set("status", protoreflect.ValueOfEnum(protoreflect.EnumNumber(r.Intn(5)))) // 3 and 4 are not declared
	}
	if n := r.Intn(4); n > 0 {
		labels := msg.Mutable(fields.ByName("labels")).Map()
		for i := 0; i < n; i++ {
			labels.Set(protoreflect.ValueOfString(randomString(r)).MapKey(), protoreflect.ValueOfString(randomString(r)))
		}
	}
	if r.Intn(2) == 0 {
		set("gift", protoreflect.ValueOfBool(r.Intn(2) == 0))
	}
	if r.Intn(3) == 0 {
		b := make([]byte, r.Intn(40))
		r.Read(b)
		set("note", protoreflect.ValueOfBytes(b))
	}
	if r.Intn(2) == 0 {
		c := msg.Mutable(fields.ByName("customer")).Message()
		if r.Intn(2) == 0 {
			c.Set(c.Descriptor().Fields().ByName("name"), protoreflect.ValueOfString(randomString(r)))
		}
		if r.Intn(2) == 0 {
			c.Set(c.Descriptor().Fields().ByName("email"), protoreflect.ValueOfString(randomString(r)))
		}
	}
	return msg
}

// randomString is valid UTF-8 (proto3 requires it) from an alphabet of
// JSON's awkward characters: quotes, escapes, controls, HTML, U+2028, astral.
func randomString(r *rand.Rand) string {
	alphabet := []string{"a", "Z", "0", " ", `"`, `\`, "/", "\n", "\t", "\x00", "\x1f", "\x7f",
		"<", ">", "&", "é", "日本", "\u2028", "\u2029", "\ufeff", "😀", ",", ", ", "{", "]"}
	var b strings.Builder
	for n := r.Intn(12); n > 0; n-- {
		b.WriteString(alphabet[r.Intn(len(alphabet))])
	}
	return b.String()
}

// TestRandomOrdersRoundTrip: random Orders survive wire -> JSON -> wire
// unchanged, the JSON is what protojson itself writes for the message (less
// its random spaces), and JSON -> wire -> JSON gives the same JSON.
func TestRandomOrdersRoundTrip(t *testing.T) {
	order := message(t, testSet(t), "raygate.demo.v1.Order")
	r := rand.New(rand.NewSource(20240601))
	const cases = 600
	for i := 0; i < cases; i++ {
		msg := randomOrder(r, order)
		wire, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg.Interface())
		if err != nil {
			t.Fatal(err)
		}
		js, err := order.ToJSON(wire, Limits{})
		if err != nil {
			t.Fatalf("case %d: ToJSON: %v\nwire %x", i, err, wire)
		}
		direct, err := protojson.Marshal(msg.Interface())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(js, stableJSON(direct)) {
			t.Fatalf("case %d: ToJSON differs from protojson:\n got %s\nwant %s", i, js, direct)
		}
		wire2, err := order.FromJSON(js, Limits{})
		if err != nil {
			t.Fatalf("case %d: FromJSON: %v\njson %s", i, err, js)
		}
		if !bytes.Equal(wire2, wire) {
			t.Fatalf("case %d: wire -> JSON -> wire changed:\n got %x\nwant %x\njson %s", i, wire2, wire, js)
		}
		js2, err := order.ToJSON(wire2, Limits{})
		if err != nil || !bytes.Equal(js2, js) {
			t.Fatalf("case %d: JSON -> wire -> JSON changed:\n got %s (%v)\nwant %s", i, js2, err, js)
		}
	}
}
