package protoconv

import (
	"bytes"
	"math/rand"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// libraryKeptUnknown decodes wire with the library alone and reports
// whether any message in it kept unknown fields: what checkWire exists to
// refuse, so after a successful ToJSON there must be none.
func libraryKeptUnknown(m *Message, wire []byte) bool {
	msg := m.typ.New()
	if err := (proto.UnmarshalOptions{AllowPartial: true, Resolver: m.set.types}).Unmarshal(wire, msg.Interface()); err != nil {
		return false
	}
	var walk func(protoreflect.Message) bool
	walk = func(msg protoreflect.Message) bool {
		if len(msg.GetUnknown()) > 0 {
			return true
		}
		found := false
		msg.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := 0; i < v.List().Len() && !found; i++ {
					found = walk(v.List().Get(i).Message())
				}
			case fd.IsMap() && fd.MapValue().Message() != nil:
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					found = walk(mv.Message())
					return !found
				})
			case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
				found = walk(v.Message())
			}
			return !found
		})
		return found
	}
	return walk(msg)
}

// checkFuzzError fails on anything but an *Error, and on a recovered panic.
func checkFuzzError(t *testing.T, err error) {
	if _, ok := err.(*Error); !ok {
		t.Fatalf("error %T: %v", err, err)
	}
	if strings.Contains(err.Error(), "internal error") {
		t.Fatalf("the library panicked: %v", err)
	}
}

// fuzzLimits keep the fuzzers' inputs to the kind of size they explore well.
var fuzzLimits = Limits{MaxBytes: 64 << 10, MaxDepth: 16}

// fuzzTypes are the types every fuzz input is tried as: the demo Order, and
// an Envelope (testdata/protoc.pb) for the well-known types, Any, oneof and
// proto3 optional, which have JSON forms of their own.
func fuzzTypes(f *testing.F) []*Message {
	b, err := os.ReadFile("testdata/protoc.pb")
	if err != nil {
		f.Fatal(err)
	}
	s, err := NewSet(b)
	if err != nil {
		f.Fatal(err)
	}
	return []*Message{message(f, s, "raygate.demo.v1.Order"), message(f, s, "raygate.test.v1.Envelope")}
}

// seedWire are valid encodings of each type, for both fuzzers' seeds.
func seedWire(f *testing.F, types []*Message) [][]byte {
	r := rand.New(rand.NewSource(7))
	seeds := [][]byte{nil}
	for _, js := range []string{canonicalOrder, envelopeJSON} {
		for _, m := range types {
			if w, err := m.FromJSON([]byte(js), Limits{}); err == nil {
				seeds = append(seeds, w)
			}
		}
	}
	for i := 0; i < 12; i++ {
		w, err := proto.MarshalOptions{Deterministic: true}.Marshal(randomOrder(r, types[0]).Interface())
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, w)
	}
	if len(seeds) < 15 {
		f.Fatal("a seed did not convert")
	}
	return seeds
}

// envelopeJSON is an Envelope with every field set.
const envelopeJSON = `{"sentAt":"2024-01-02T03:04:05.500Z","ttl":"1.500s",` +
	`"payload":{"@type":"type.googleapis.com/raygate.demo.v1.Order","id":"in-any","labels":{"k":"v"}},` +
	`"meta":{"k":[1,"a",null,true,{"n":{}}]},"retries":"3","mask":"a.bC,d","trace":"",` +
	`"order":{"id":"o-1"},"ratio":0.25,"delta":"-7","crc":4294967295}`

// FuzzWireToJSON: any bytes, as each type, either fail with an *Error or
// convert to JSON that converts back to wire bytes which convert to the same
// JSON again; and nothing the library would keep as an unknown field (and
// the JSON drop) gets through.
func FuzzWireToJSON(f *testing.F) {
	types := fuzzTypes(f)
	for _, s := range seedWire(f, types) {
		f.Add(s)
	}
	// And some near misses: an unknown field, a wrong wire type, a group.
	f.Add(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1))
	f.Add(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1))
	f.Add([]byte{0x0b, 0x0c})
	f.Fuzz(func(t *testing.T, wire []byte) {
		for _, m := range types {
			js, err := m.ToJSON(wire, fuzzLimits)
			if err != nil {
				checkFuzzError(t, err)
				continue
			}
			if libraryKeptUnknown(m, wire) {
				t.Fatalf("%s: converted, but the library kept unknown fields (dropped from the JSON): %x", m.Name(), wire)
			}
			wire2, err := m.FromJSON(js, fuzzLimits)
			if err != nil {
				t.Fatalf("%s: ToJSON output does not convert back: %v\njson %s", m.Name(), err, js)
			}
			js2, err := m.ToJSON(wire2, fuzzLimits)
			if err != nil || !bytes.Equal(js2, js) {
				t.Fatalf("%s: JSON changed on the way round: %s (%v)\nwant %s", m.Name(), js2, err, js)
			}
			wire3, err := m.FromJSON(js2, fuzzLimits)
			if err != nil || !bytes.Equal(wire3, wire2) {
				t.Fatalf("%s: wire bytes not a fixed point: %x (%v)\nwant %x", m.Name(), wire3, err, wire2)
			}
		}
	})
}

// FuzzJSONToWire: any text, as each type, either fails with an *Error or
// converts to wire bytes whose JSON converts back to the same bytes.
func FuzzJSONToWire(f *testing.F) {
	types := fuzzTypes(f)
	for _, w := range seedWire(f, types) {
		for _, m := range types {
			if js, err := m.ToJSON(w, Limits{}); err == nil {
				f.Add(string(js))
			}
		}
	}
	for _, js := range []string{
		`{"quantity":1e3,"price":"-Infinity","status":7,"labels":{"":""}}`,
		`{"items":[{"count":"-2147483648"}],"note":"-_8="}`,
		`{"id":"\ud83d\ude00\u0000","customer":null}`,
		`{"quantity":"1.0e2","price":"NaN"}`,
		`{"payload":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"-0.000000001s"}}`,
		`{"payload":{"@type":"type.googleapis.com/google.protobuf.Struct","value":{"a":[{}]}}}`,
		`{"sentAt":"0001-01-01T00:00:00Z","ttl":"315576000000s","retries":null,"mask":""}`,
		`[{"a":"]"}]`,
	} {
		f.Add(js)
	}
	f.Fuzz(func(t *testing.T, js string) {
		for _, m := range types {
			wire, err := m.FromJSON([]byte(js), fuzzLimits)
			if err != nil {
				checkFuzzError(t, err)
				continue
			}
			canon, err := m.ToJSON(wire, fuzzLimits)
			if err != nil {
				t.Fatalf("%s: FromJSON output does not convert back: %v\nwire %x", m.Name(), err, wire)
			}
			wire2, err := m.FromJSON(canon, fuzzLimits)
			if err != nil || !bytes.Equal(wire2, wire) {
				t.Fatalf("%s: wire bytes changed on the way round: %x (%v)\nwant %x\njson %s", m.Name(), wire2, err, wire, canon)
			}
		}
	})
}
