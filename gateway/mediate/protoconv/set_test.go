package protoconv

import (
	"bytes"
	"encoding/base64"
	"os"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

func TestMessages(t *testing.T) {
	s := testSet(t)
	want := []string{
		"raygate.demo.v1.Customer",
		"raygate.demo.v1.Item",
		"raygate.demo.v1.Order", // and not Order.LabelsEntry, the map's entry
		"raygate.ship.v1.Shipment",
		"raygate.test.v1.Node",
	}
	if got := s.Messages(); !reflect.DeepEqual(got, want) {
		t.Errorf("Messages() = %q, want %q", got, want)
	}
	s.Messages()[0] = "changed" // a copy: the set stays immutable
	if s.Messages()[0] != want[0] {
		t.Error("Messages() exposes the set's own slice")
	}
}

func TestMessageLookup(t *testing.T) {
	s := testSet(t)
	for _, name := range []string{"raygate.demo.v1.Order", ".raygate.demo.v1.Order"} {
		m, err := s.Message(name)
		if err != nil {
			t.Fatalf("Message(%q): %v", name, err)
		}
		if m.Name() != "raygate.demo.v1.Order" {
			t.Errorf("Name() = %q", m.Name())
		}
	}
	cases := []struct {
		name string
		want []string
	}{
		{"shop.v1.Order", []string{`no message "shop.v1.Order"`}},
		{"Order", []string{`no message "Order"`, "did you mean raygate.demo.v1.Order?"}},
		{"raygate.demo.v1.Status", []string{`"raygate.demo.v1.Status"`, "not a message"}},
		{"raygate.demo.v1.Order.LabelsEntry", []string{"map entry"}},
		{"", []string{`no message ""`}},
	}
	for _, c := range cases {
		_, err := s.Message(c.name)
		wantError(t, err, c.want...)
	}
}

// TestLiteralsMatchProtoc holds the Go literals to what protoc 3.21 wrote
// for the same sources (testdata/proto; regenerate testdata/protoc.pb with
// the command in the README): a wrong map entry or json_name shows here.
func TestLiteralsMatchProtoc(t *testing.T) {
	b, err := os.ReadFile("testdata/protoc.pb")
	if err != nil {
		t.Fatal(err)
	}
	var fds descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &fds); err != nil {
		t.Fatal(err)
	}
	byName := map[string]*descriptorpb.FileDescriptorProto{}
	for _, f := range fds.File {
		byName[f.GetName()] = f
	}
	for _, lit := range []*descriptorpb.FileDescriptorProto{demoFileDescriptor(), shipmentFile(), nodeFile()} {
		want := byName[lit.GetName()]
		if want == nil {
			t.Fatalf("protoc.pb lacks %s", lit.GetName())
		}
		if !proto.Equal(lit, want) {
			t.Errorf("literal %s differs from protoc's:\n got %v\nwant %v", lit.GetName(), lit, want)
		}
	}
	// And the serialized demo set is protoc's output byte for byte.
	one, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{byName[demoFile]}})
	if !bytes.Equal(one, DemoDescriptorSet()) {
		t.Error("DemoDescriptorSet differs from protoc's bytes")
	}

	s, err := NewSet(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"google.protobuf.Timestamp", "raygate.test.v1.Envelope", "raygate.test.v1.Legacy"} {
		if _, err := s.Message(name); err != nil {
			t.Error(err)
		}
	}
}

func TestDemoDescriptorSet(t *testing.T) {
	a, b := DemoDescriptorSet(), DemoDescriptorSet()
	if !bytes.Equal(a, b) {
		t.Fatal("DemoDescriptorSet is not deterministic")
	}
	a[0] ^= 0xff
	if bytes.Equal(a, DemoDescriptorSet()) {
		t.Fatal("DemoDescriptorSet returns shared bytes")
	}
	s, err := NewSet(DemoDescriptorSet())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Messages(); !reflect.DeepEqual(got, []string{"raygate.demo.v1.Customer", "raygate.demo.v1.Item", "raygate.demo.v1.Order"}) {
		t.Errorf("Messages() = %q", got)
	}
}

// TestPrintDemoSet prints the demo set for a configuration's
// mediation.protos[].descriptor_set: go test -v -run TestPrintDemoSet.
func TestPrintDemoSet(t *testing.T) {
	t.Logf("descriptor_set: %s", base64.StdEncoding.EncodeToString(DemoDescriptorSet()))
}

func TestNewSetErrors(t *testing.T) {
	demo := demoFileDescriptor
	other := func(pkg string, msgs []string, enums map[string][]string) *descriptorpb.FileDescriptorProto {
		f := &descriptorpb.FileDescriptorProto{
			Name:    proto.String("raygate/other.proto"),
			Package: proto.String(pkg),
			Syntax:  proto.String("proto3"),
		}
		for _, m := range msgs {
			f.MessageType = append(f.MessageType, &descriptorpb.DescriptorProto{Name: proto.String(m)})
		}
		for e, vs := range enums {
			ed := &descriptorpb.EnumDescriptorProto{Name: proto.String(e)}
			for i, v := range vs {
				ed.Value = append(ed.Value, &descriptorpb.EnumValueDescriptorProto{Name: proto.String(v), Number: proto.Int32(int32(i))})
			}
			f.EnumType = append(f.EnumType, ed)
		}
		return f
	}
	badRef := demo()
	badRef.MessageType[2].Field[3].TypeName = proto.String(".raygate.demo.v1.Nope")
	cycleA := &descriptorpb.FileDescriptorProto{Name: proto.String("a.proto"), Dependency: []string{"b.proto"}}
	cycleB := &descriptorpb.FileDescriptorProto{Name: proto.String("b.proto"), Dependency: []string{"a.proto"}}
	unknownTop := protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 1)

	cases := []struct {
		name string
		in   []byte
		want []string
	}{
		{"empty", nil, []string{"empty descriptor set"}},
		{"garbage", []byte{0xff, 0xff, 0xff, 0xff}, []string{"not a serialized google.protobuf.FileDescriptorSet"}},
		{"json", []byte(`{"file":[]}`), []string{"not a serialized google.protobuf.FileDescriptorSet"}},
		{"base64 not decoded", []byte(base64.StdEncoding.EncodeToString(DemoDescriptorSet())), []string{"not a serialized google.protobuf.FileDescriptorSet", "decode it first"}},
		{"other message", unknownTop, []string{"not a serialized google.protobuf.FileDescriptorSet", "field 2"}},
		{"truncated", DemoDescriptorSet()[:100], []string{"not a serialized google.protobuf.FileDescriptorSet"}},
		{"no file name", marshalSet(t, &descriptorpb.FileDescriptorProto{Package: proto.String("x")}), []string{"file #1", "no name"}},
		{"missing import", marshalSet(t, shipmentFile()), []string{
			"missing import", `"raygate/ship/v1/shipment.proto" imports "raygate/demo/v1/order.proto"`, "--include_imports"}},
		{"file twice", marshalSet(t, demo(), demo()), []string{"duplicate definitions", `"raygate/demo/v1/order.proto" appears twice`}},
		{"message twice", marshalSet(t, demo(), other("raygate.demo.v1", []string{"Order"}, nil)), []string{
			"duplicate definitions", "raygate.demo.v1.Order", `"raygate/demo/v1/order.proto"`, `"raygate/other.proto"`}},
		{"enum value twice", marshalSet(t, demo(), other("raygate.demo.v1", nil, map[string][]string{"Phase": {"STATUS_PAID"}})), []string{
			"duplicate definitions", "raygate.demo.v1.STATUS_PAID"}},
		{"twice in one file", marshalSet(t, other("x", []string{"A", "A"}, nil)), []string{"duplicate definitions", "x.A is defined twice"}},
		{"unresolved type", marshalSet(t, badRef), []string{"invalid descriptor set", "raygate.demo.v1.Nope"}},
		{"import cycle", marshalSet(t, cycleA, cycleB), []string{"invalid descriptor set", "cycle"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewSet(c.in)
			if s != nil {
				t.Error("a set came back with the error")
			}
			wantError(t, err, c.want...)
		})
	}

	// The same names in other packages are no conflict.
	if _, err := NewSet(marshalSet(t, demo(), other("raygate.demo.v2", []string{"Order"}, map[string][]string{"Phase": {"STATUS_PAID"}}))); err != nil {
		t.Errorf("other package: %v", err)
	}
}
