package protoconv

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// canonicalOrder is the canonical proto3 JSON of one full Order: fields in
// declaration order, lowerCamelCase names, int64 as a string, enums by name,
// bytes in base64, map keys sorted.
const canonicalOrder = `{"id":"o-1","quantity":"3","price":9.5,` +
	`"items":[{"sku":"A-1","count":2},{"sku":"B-2"}],"status":"STATUS_PAID",` +
	`"labels":{"a":"1","b":"2"},"gift":true,"note":"aGk=",` +
	`"customer":{"name":"Ann","email":"ann@example.com"}}`

func TestRoundTripCanonical(t *testing.T) {
	order := message(t, testSet(t), "raygate.demo.v1.Order")
	wire, err := order.FromJSON([]byte(canonicalOrder), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	js, err := order.ToJSON(wire, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if string(js) != canonicalOrder {
		t.Errorf("JSON -> wire -> JSON:\n got %s\nwant %s", js, canonicalOrder)
	}
	wire2, err := order.FromJSON(js, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wire, wire2) {
		t.Errorf("wire -> JSON -> wire:\n got %x\nwant %x", wire2, wire)
	}

	// What the JSON mapping also accepts comes out canonical: another key
	// order, whitespace, numbers as strings and strings as numbers, enums by
	// number, defaults written out.
	loose := `{ "customer": {"email": "ann@example.com", "name": "Ann"},
		"note": "aGk=", "gift": true, "labels": {"b": "2", "a": "1"},
		"status": 1, "items": [{"sku": "A-1", "count": "2"}, {"sku": "B-2", "count": 0}],
		"price": "9.5", "quantity": 3, "id": "o-1" }`
	wire3, err := order.FromJSON([]byte(loose), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wire3, wire) {
		t.Errorf("loose JSON gave other wire bytes:\n got %x\nwant %x", wire3, wire)
	}

	// Empty in, empty out.
	if js, err := order.ToJSON(nil, Limits{}); err != nil || string(js) != "{}" {
		t.Errorf("ToJSON(empty) = %s, %v", js, err)
	}
	if w, err := order.FromJSON([]byte(`{}`), Limits{}); err != nil || len(w) != 0 {
		t.Errorf("FromJSON({}) = %x, %v", w, err)
	}
	if w, err := order.FromJSON([]byte(`{"id":"","quantity":"0","items":[],"labels":{},"status":"STATUS_UNSPECIFIED","customer":null}`), Limits{}); err != nil || len(w) != 0 {
		t.Errorf("FromJSON(defaults) = %x, %v", w, err)
	}
}

func TestLowerCamelCaseAndImports(t *testing.T) {
	ship := message(t, testSet(t), "raygate.ship.v1.Shipment")
	const want = `{"trackingCode":"Z9","order":{"id":"o-1","status":"STATUS_SHIPPED"},"status":"STATUS_PAID","parcelGrams":[1,200]}`
	for _, in := range []string{want, `{"tracking_code":"Z9","order":{"id":"o-1","status":2},"status":"STATUS_PAID","parcel_grams":[1,"200"]}`} {
		wire, err := ship.FromJSON([]byte(in), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		js, err := ship.ToJSON(wire, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if string(js) != want {
			t.Errorf("got %s\nwant %s", js, want)
		}
	}
}

// TestWellKnownTypes uses protoc's own descriptor set (testdata/protoc.pb):
// the well-known types have JSON forms of their own, and an Any's type
// resolves against the set.
func TestWellKnownTypes(t *testing.T) {
	b, err := os.ReadFile("testdata/protoc.pb")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSet(b)
	if err != nil {
		t.Fatal(err)
	}
	env := message(t, s, "raygate.test.v1.Envelope")
	const canonical = `{"sentAt":"2024-01-02T03:04:05.500Z","ttl":"1.500s",` +
		`"payload":{"@type":"type.googleapis.com/raygate.demo.v1.Order","id":"in-any","items":[{"sku":"x"}]},` +
		`"meta":{"k":[1,"a",null,true,{"n":{}}]},"retries":"3","mask":"a.bC,d","trace":"",` +
		`"order":{"id":"o-1"},"ratio":0.25,"delta":"-7","crc":4294967295}`
	wire, err := env.FromJSON([]byte(canonical), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	js, err := env.ToJSON(wire, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if string(js) != canonical {
		t.Errorf("got %s\nwant %s", js, canonical)
	}

	for _, c := range []struct{ in, want string }{
		{`{"payload":{"@type":"type.googleapis.com/shop.v1.Nope"}}`, "shop.v1.Nope"},
		{`{"payload":{"id":"x"}}`, "@type"},
		{`{"sentAt":"yesterday"}`, "Timestamp"},
		{`{"url":"a","order":{}}`, "oneof"},
	} {
		_, err := env.FromJSON([]byte(c.in), Limits{})
		wantError(t, err, c.want)
	}

	// proto2: required fields, a closed enum, an extension.
	legacy := message(t, s, "raygate.test.v1.Legacy")
	if !env.noRequired || legacy.noRequired {
		t.Errorf("noRequired: Envelope %v, Legacy %v", env.noRequired, legacy.noRequired)
	}
	const withExt = `{"id":"L1","color":"GREEN","[raygate.test.v1.note]":"hi"}`
	wire, err = legacy.FromJSON([]byte(withExt), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if js, err := legacy.ToJSON(wire, Limits{}); err != nil || string(js) != withExt {
		t.Errorf("extension round trip: %s, %v", js, err)
	}
	_, err = legacy.FromJSON([]byte(`{"color":"RED"}`), Limits{})
	wantError(t, err, "required", "id")
	_, err = legacy.ToJSON(nil, Limits{})
	wantError(t, err, "required", "id")
	badColor := protowire.AppendVarint(protowire.AppendTag(wire[:0:0], 2, protowire.VarintType), 7)
	badColor = protowire.AppendString(protowire.AppendTag(badColor, 1, protowire.BytesType), "L1")
	// The decoder keeps a number a closed enum lacks as that number (not
	// as an unknown field), and the JSON mapping writes it as a number.
	if js, err := legacy.ToJSON(badColor, Limits{}); err != nil || string(js) != `{"id":"L1","color":7}` {
		t.Errorf("closed enum, undeclared number: %s, %v", js, err)
	}
	unknownExt := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "L1")
	unknownExt = protowire.AppendVarint(protowire.AppendTag(unknownExt, 150, protowire.VarintType), 1)
	_, err = legacy.ToJSON(unknownExt, Limits{})
	wantError(t, err, "unknown extension field 150")
}

func TestConversionErrors(t *testing.T) {
	s := testSet(t)
	order := message(t, s, "raygate.demo.v1.Order")
	good, err := order.FromJSON([]byte(canonicalOrder), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	tag := protowire.AppendTag
	idHello := protowire.AppendString(tag(nil, 1, protowire.BytesType), "hello")
	unknown99 := protowire.AppendVarint(tag(append([]byte(nil), good...), 99, protowire.VarintType), 5)
	// items[1] = {sku: "B", 42: "x"}: an unknown field one level down.
	item := protowire.AppendString(tag(nil, 1, protowire.BytesType), "B")
	item = protowire.AppendString(tag(item, 42, protowire.BytesType), "x")
	nested := protowire.AppendBytes(tag(nil, 4, protowire.BytesType), nil)
	nested = protowire.AppendBytes(tag(nested, 4, protowire.BytesType), item)
	wrongType := protowire.AppendVarint(tag(nil, 1, protowire.VarintType), 1)
	group := protowire.AppendTag(tag(nil, 77, protowire.StartGroupType), 77, protowire.EndGroupType)
	badUTF8 := protowire.AppendString(tag(nil, 1, protowire.BytesType), "\xff\xfe")
	// Map entries: the decoder drops what they hold beyond key and value,
	// and panics on a key that comes again with the wrong wire type.
	entry := func(fields ...[]byte) []byte {
		return protowire.AppendBytes(tag(nil, 6, protowire.BytesType), bytes.Join(fields, nil))
	}
	key := protowire.AppendString(tag(nil, 1, protowire.BytesType), "k")
	val := protowire.AppendString(tag(nil, 2, protowire.BytesType), "v")
	keyAsVarint := protowire.AppendVarint(tag(nil, 1, protowire.VarintType), 1)
	entryField3 := protowire.AppendVarint(tag(nil, 3, protowire.VarintType), 1)

	wireCases := []struct {
		name string
		in   []byte
		lim  Limits
		want []string
	}{
		{"garbage", []byte{0xff, 0xff, 0xff, 0xff}, Limits{}, []string{"invalid raygate.demo.v1.Order wire data"}},
		{"truncated", idHello[:4], Limits{}, []string{"invalid raygate.demo.v1.Order wire data"}},
		{"truncated full order", good[:len(good)-3], Limits{}, []string{"invalid raygate.demo.v1.Order wire data"}},
		{"unknown field", unknown99, Limits{}, []string{"unknown field 99 in raygate.demo.v1.Order"}},
		{"unknown nested field", nested, Limits{}, []string{"unknown field 42 in raygate.demo.v1.Item (at items[1])"}},
		{"unknown group", group, Limits{}, []string{"unknown field 77"}},
		{"wrong wire type", wrongType, Limits{}, []string{"field 1 (id)", "wire type varint", "string"}},
		{"map entry key twice, wrong type", entry(key, val, keyAsVarint), Limits{}, []string{
			"field 1 (key) in raygate.demo.v1.Order.LabelsEntry (at labels)", "wire type varint"}},
		{"map entry key wrong type", entry(keyAsVarint, val), Limits{}, []string{"field 1 (key)", "wire type varint"}},
		{"map entry extra field", append(entry(key, val), entry(key, entryField3)...), Limits{}, []string{
			"unknown field 3 in raygate.demo.v1.Order.LabelsEntry (at labels)"}},
		{"unknown field deeper", protowire.AppendBytes(tag(nil, 9, protowire.BytesType), unknown99[len(good):]), Limits{}, []string{
			"unknown field 99 in raygate.demo.v1.Customer (at customer)"}},
		{"invalid UTF-8", badUTF8, Limits{}, []string{"invalid raygate.demo.v1.Order wire data", "UTF-8"}},
		{"oversized", good, Limits{MaxBytes: 10}, []string{fmt.Sprintf("message of %d bytes exceeds the limit of 10 bytes", len(good))}},
	}
	for _, c := range wireCases {
		t.Run("wire/"+c.name, func(t *testing.T) {
			js, err := order.ToJSON(c.in, c.lim)
			if js != nil {
				t.Errorf("output with the error: %s", js)
			}
			wantError(t, err, c.want...)
		})
	}

	huge := strings.Repeat("x", 1<<20)
	jsonCases := []struct {
		name string
		in   string
		lim  Limits
		want []string
	}{
		{"unknown field", `{"id":"a","colour":"red"}`, Limits{}, []string{"invalid raygate.demo.v1.Order JSON", `unknown field "colour"`}},
		{"unknown nested field", `{"items":[{"sku":"a","weight":3}]}`, Limits{}, []string{`unknown field "weight"`}},
		{"wrong type", `{"quantity":true}`, Limits{}, []string{"quantity", "true"}},
		{"wrong type object", `{"id":{}}`, Limits{}, []string{"id"}},
		{"wrong type list", `{"items":{"sku":"a"}}`, Limits{}, []string{"invalid raygate.demo.v1.Order JSON"}},
		{"unknown enum name", `{"status":"STATUS_LOST"}`, Limits{}, []string{"status", "STATUS_LOST"}},
		{"int64 out of range", `{"quantity":"9223372036854775808"}`, Limits{}, []string{"quantity"}},
		{"duplicate field", `{"id":"a","id":"b"}`, Limits{}, []string{"duplicate field", "id"}},
		{"not JSON", `id=a`, Limits{}, []string{"invalid raygate.demo.v1.Order JSON", "syntax error"}},
		{"not an object", `[]`, Limits{}, []string{"invalid raygate.demo.v1.Order JSON"}},
		{"trailing data", `{}{}`, Limits{}, []string{"invalid raygate.demo.v1.Order JSON"}},
		{"bad base64", `{"note":"%%%"}`, Limits{}, []string{"note"}},
		{"oversized", canonicalOrder, Limits{MaxBytes: 10}, []string{fmt.Sprintf("JSON document of %d bytes exceeds the limit of 10 bytes", len(canonicalOrder))}},
		// Errors quote tokens; a client's megabyte must not come back.
		{"long token", `{"id":` + huge + `}`, Limits{}, []string{"invalid raygate.demo.v1.Order JSON"}},
		{"long field name", `{"` + huge + `":1}`, Limits{}, []string{"unknown field", "…"}},
		{"long unterminated string", `{"id":"` + huge, Limits{}, []string{"invalid raygate.demo.v1.Order JSON"}},
	}
	for _, c := range jsonCases {
		t.Run("json/"+c.name, func(t *testing.T) {
			wire, err := order.FromJSON([]byte(c.in), c.lim)
			if wire != nil {
				t.Errorf("output with the error: %x", wire)
			}
			wantError(t, err, c.want...)
		})
	}
}

// nestedWire is a Node whose child chain holds n messages in all. It is
// built back to front, since prepending level by level is quadratic.
func nestedWire(n int) []byte {
	var rev []byte
	for i := 1; i < n; i++ {
		size := protowire.AppendVarint(nil, uint64(len(rev)))
		for j := len(size) - 1; j >= 0; j-- {
			rev = append(rev, size[j])
		}
		rev = append(rev, 0x0a) // field 1, length-delimited
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

// nestedJSON is the same Node in JSON, through child or through children
// (a list costs an extra JSON level per message).
func nestedJSON(n int, field string) string {
	open, close := `{"child":`, `}`
	if field == "children" {
		open, close = `{"children":[`, `]}`
	}
	return strings.Repeat(open, n-1) + `{}` + strings.Repeat(close, n-1)
}

func TestDepthLimits(t *testing.T) {
	node := message(t, testSet(t), "raygate.test.v1.Node")
	for _, lim := range []Limits{{}, {MaxDepth: 5}} {
		max := lim.orDefaults().MaxDepth
		deep := fmt.Sprintf("nested deeper than %d levels", max)

		// MaxDepth messages pass, in both directions and through lists.
		js, err := node.ToJSON(nestedWire(max), lim)
		if err != nil {
			t.Fatalf("depth %d: %v", max, err)
		}
		if string(js) != nestedJSON(max, "child") {
			t.Errorf("depth %d: %s", max, js)
		}
		for _, field := range []string{"child", "children"} {
			wire, err := node.FromJSON([]byte(nestedJSON(max, field)), lim)
			if err != nil {
				t.Fatalf("depth %d via %s: %v", max, field, err)
			}
			if js, err := node.ToJSON(wire, lim); err != nil || string(js) != nestedJSON(max, field) {
				t.Errorf("depth %d via %s: %s, %v", max, field, js, err)
			}
		}

		// One more is refused, and so is a great deal more, cheaply.
		for _, n := range []int{max + 1, 100000} {
			_, err := node.ToJSON(nestedWire(n), lim)
			wantError(t, err, deep)
			for _, field := range []string{"child", "children"} {
				_, err := node.FromJSON([]byte(nestedJSON(n, field)), lim)
				wantError(t, err, deep)
			}
		}
		// Raw nesting of any JSON value is refused before protojson runs.
		_, err = node.FromJSON([]byte(`{"value":`+strings.Repeat("[", 2*max+1)), lim)
		wantError(t, err, deep)
		// Brackets inside strings do not count.
		if err := scanJSON([]byte(`{"a":"[[[[[[[[[[\"{{{{{{{{{{"}`), 2, lim); err != nil {
			t.Errorf("brackets in a string counted: %v", err)
		}
	}
}

func TestLimitsDefaults(t *testing.T) {
	for _, l := range []Limits{{}, {MaxBytes: -1, MaxDepth: -1}} {
		if got := l.orDefaults(); got != (Limits{MaxBytes: 4 << 20, MaxDepth: 64}) {
			t.Errorf("%+v.orDefaults() = %+v", l, got)
		}
	}
	order := message(t, testSet(t), "raygate.demo.v1.Order")
	exact := []byte(canonicalOrder)
	if _, err := order.FromJSON(exact, Limits{MaxBytes: int64(len(exact))}); err != nil {
		t.Errorf("input of exactly MaxBytes refused: %v", err)
	}
}

// TestStableJSON: protojson may put a space after commas (fixed per
// binary); the output never has one, whatever this binary does.
func TestStableJSON(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":1, "b":[1, 2]}`:        `{"a":1,"b":[1,2]}`,
		`{"a":"x, y", "b":"\", "}`:   `{"a":"x, y","b":"\", "}`,
		`{"a":"\\", "b":"\\\", , "}`: `{"a":"\\","b":"\\\", , "}`,
		`{"a":1,"b":2}`:              `{"a":1,"b":2}`,
	} {
		if got := string(stableJSON([]byte(in))); got != want {
			t.Errorf("stableJSON(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	s := testSet(t)
	order := message(t, s, "raygate.demo.v1.Order")
	wire, err := order.FromJSON([]byte(canonicalOrder), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				m, err := s.Message("raygate.demo.v1.Order")
				if err != nil {
					t.Error(err)
					return
				}
				js, err := m.ToJSON(wire, Limits{})
				if err != nil || string(js) != canonicalOrder {
					t.Errorf("ToJSON: %s, %v", js, err)
					return
				}
				w, err := m.FromJSON(js, Limits{})
				if err != nil || !bytes.Equal(w, wire) {
					t.Errorf("FromJSON: %x, %v", w, err)
					return
				}
				_ = s.Messages()
			}
		}()
	}
	wg.Wait()
}

// TestAny: what an Any holds is checked like any other message, and Any
// values nest at most MaxAnyNesting deep, in both directions.
func TestAny(t *testing.T) {
	b, err := os.ReadFile("testdata/protoc.pb")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSet(b)
	if err != nil {
		t.Fatal(err)
	}
	env := message(t, s, "raygate.test.v1.Envelope")
	tag := protowire.AppendTag
	anyOf := func(url string, value []byte) []byte {
		a := protowire.AppendString(tag(nil, 1, protowire.BytesType), url)
		return protowire.AppendBytes(tag(a, 2, protowire.BytesType), value)
	}
	payload := func(any []byte) []byte { return protowire.AppendBytes(tag(nil, 3, protowire.BytesType), any) }

	order := protowire.AppendString(tag(nil, 1, protowire.BytesType), "o-1")
	order = protowire.AppendVarint(tag(order, 99, protowire.VarintType), 1)
	_, err = env.ToJSON(payload(anyOf("type.googleapis.com/raygate.demo.v1.Order", order)), Limits{})
	wantError(t, err, "unknown field 99 in raygate.demo.v1.Order (at payload)")

	const envURL = "type.googleapis.com/raygate.test.v1.Envelope"
	nestedWire := func(n int) []byte {
		w := protowire.AppendString(tag(nil, 7, protowire.BytesType), "innermost")
		for i := 0; i < n; i++ {
			w = payload(anyOf(envURL, w))
		}
		return w
	}
	nestedJSON := func(n int, typeFirst bool) string {
		js := `{"trace":"innermost"}`
		for i := 0; i < n; i++ {
			inner := strings.TrimPrefix(strings.TrimSuffix(js, "}"), "{")
			if typeFirst {
				js = `{"payload":{"@type":"` + envURL + `",` + inner + `}}`
			} else {
				js = `{"payload":{` + inner + `,"@type":"` + envURL + `"}}`
			}
		}
		return js
	}
	wire, err := env.FromJSON([]byte(nestedJSON(MaxAnyNesting, true)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wire, nestedWire(MaxAnyNesting)) {
		t.Errorf("nested Any: got %x\nwant %x", wire, nestedWire(MaxAnyNesting))
	}
	if js, err := env.ToJSON(wire, Limits{}); err != nil || string(js) != nestedJSON(MaxAnyNesting, true) {
		t.Errorf("nested Any: %s, %v", js, err)
	}
	if _, err := env.FromJSON([]byte(nestedJSON(MaxAnyNesting, false)), Limits{}); err != nil {
		t.Errorf("nested Any, @type last: %v", err)
	}

	tooMany := fmt.Sprintf("google.protobuf.Any values nested more than %d deep", MaxAnyNesting)
	_, err = env.ToJSON(nestedWire(MaxAnyNesting+1), Limits{})
	wantError(t, err, tooMany)
	for _, typeFirst := range []bool{true, false} {
		_, err = env.FromJSON([]byte(nestedJSON(MaxAnyNesting+1, typeFirst)), Limits{})
		wantError(t, err, tooMany)
	}
	// protojson reads escapes in keys; so does the count.
	escaped := strings.ReplaceAll(nestedJSON(MaxAnyNesting+1, false), `"@type"`, `"\u0040type"`)
	_, err = env.FromJSON([]byte(escaped), Limits{})
	wantError(t, err, tooMany)
	// A list of Anys side by side is not nesting.
	var side []string
	for i := 0; i < 3*MaxAnyNesting; i++ {
		side = append(side, `{"@type":"`+envURL+`"}`)
	}
	if err := scanJSON([]byte(`{"x":[`+strings.Join(side, ",")+`]}`), 100, Limits{}); err != nil {
		t.Errorf("Anys side by side: %v", err)
	}
}
