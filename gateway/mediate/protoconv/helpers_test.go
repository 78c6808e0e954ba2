package protoconv

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// shipmentFile imports the demo file from another package, for imports and
// cross-package references, and has a snake_case field for the JSON names:
//
//	syntax = "proto3";
//	package raygate.ship.v1;
//	import "raygate/demo/v1/order.proto";
//	message Shipment {
//	  string tracking_code = 1;
//	  raygate.demo.v1.Order order = 2;
//	  raygate.demo.v1.Status status = 3;
//	  repeated uint32 parcel_grams = 4;
//	}
func shipmentFile() *descriptorpb.FileDescriptorProto {
	return &descriptorpb.FileDescriptorProto{
		Name:       proto.String("raygate/ship/v1/shipment.proto"),
		Package:    proto.String("raygate.ship.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{demoFile},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Shipment"),
			Field: []*descriptorpb.FieldDescriptorProto{
				scalar("tracking_code", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING),
				typed("order", 2, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, ".raygate.demo.v1.Order"),
				typed("status", 3, descriptorpb.FieldDescriptorProto_TYPE_ENUM, ".raygate.demo.v1.Status"),
				repeated(scalar("parcel_grams", 4, descriptorpb.FieldDescriptorProto_TYPE_UINT32)),
			},
		}},
	}
}

// nodeFile holds a recursive type for the depth limits:
//
//	syntax = "proto3";
//	package raygate.test.v1;
//	message Node {
//	  Node child = 1;
//	  repeated Node children = 2;
//	  int32 value = 3;
//	}
func nodeFile() *descriptorpb.FileDescriptorProto {
	return &descriptorpb.FileDescriptorProto{
		Name:    proto.String("raygate/test/v1/node.proto"),
		Package: proto.String("raygate.test.v1"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Node"),
			Field: []*descriptorpb.FieldDescriptorProto{
				typed("child", 1, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, ".raygate.test.v1.Node"),
				repeated(typed("children", 2, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, ".raygate.test.v1.Node")),
				scalar("value", 3, descriptorpb.FieldDescriptorProto_TYPE_INT32),
			},
		}},
	}
}

func marshalSet(t testing.TB, files ...*descriptorpb.FileDescriptorProto) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&descriptorpb.FileDescriptorSet{File: files})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testSet holds the demo file, the shipment file and the node file.
func testSet(t testing.TB) *Set {
	t.Helper()
	s, err := NewSet(marshalSet(t, demoFileDescriptor(), shipmentFile(), nodeFile()))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func message(t testing.TB, s *Set, name string) *Message {
	t.Helper()
	m, err := s.Message(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wantError checks that err is an *Error whose text holds every part.
func wantError(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one saying %q", parts)
	}
	t.Logf("error: %v", err)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T (%v) is not an *Error", err, err)
	}
	if !strings.HasPrefix(err.Error(), "protobuf: ") {
		t.Errorf("error %q lacks the prefix", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
	if len(err.Error()) > 400 {
		t.Errorf("error is %d bytes long: %.100q…", len(err.Error()), err)
	}
}
