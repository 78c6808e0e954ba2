package protoconv

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// demoFile is the path of the demo file in DemoDescriptorSet.
const demoFile = "raygate/demo/v1/order.proto"

// DemoDescriptorSet returns the serialized descriptor set of the demo file
// raygate/demo/v1/order.proto, for the gateway's demo configuration and for
// tests. protoc is not part of the build, so the file is written here as Go
// literals, and TestLiteralsMatchProtoc holds them byte for byte to what
// protoc produces for this source (testdata/proto):
//
//	syntax = "proto3";
//	package raygate.demo.v1;
//
//	enum Status {
//	  STATUS_UNSPECIFIED = 0;
//	  STATUS_PAID = 1;
//	  STATUS_SHIPPED = 2;
//	}
//	message Item {
//	  string sku = 1;
//	  int32 count = 2;
//	}
//	message Customer {
//	  string name = 1;
//	  string email = 2;
//	}
//	message Order {
//	  string id = 1;
//	  int64 quantity = 2;
//	  double price = 3;
//	  repeated Item items = 4;
//	  Status status = 5;
//	  map<string, string> labels = 6;
//	  bool gift = 7;
//	  bytes note = 8;
//	  Customer customer = 9;
//	}
//
// The bytes are the same on every call (deterministic marshalling), so the
// base64 in a configuration stays valid.
func DemoDescriptorSet() []byte {
	set := &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{demoFileDescriptor()}}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(set)
	if err != nil {
		panic("protoconv: demo descriptor set: " + err.Error()) // literals below; cannot happen
	}
	return b
}

// demoFileDescriptor returns a fresh copy of the demo file's descriptor, for
// tests that build descriptor sets importing it.
func demoFileDescriptor() *descriptorpb.FileDescriptorProto {
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING
	return &descriptorpb.FileDescriptorProto{
		Name:    proto.String(demoFile),
		Package: proto.String("raygate.demo.v1"),
		Syntax:  proto.String("proto3"),
		EnumType: []*descriptorpb.EnumDescriptorProto{{
			Name: proto.String("Status"),
			Value: []*descriptorpb.EnumValueDescriptorProto{
				{Name: proto.String("STATUS_UNSPECIFIED"), Number: proto.Int32(0)},
				{Name: proto.String("STATUS_PAID"), Number: proto.Int32(1)},
				{Name: proto.String("STATUS_SHIPPED"), Number: proto.Int32(2)},
			},
		}},
		MessageType: []*descriptorpb.DescriptorProto{
			{
				Name: proto.String("Item"),
				Field: []*descriptorpb.FieldDescriptorProto{
					scalar("sku", 1, str),
					scalar("count", 2, descriptorpb.FieldDescriptorProto_TYPE_INT32),
				},
			},
			{
				Name: proto.String("Customer"),
				Field: []*descriptorpb.FieldDescriptorProto{
					scalar("name", 1, str),
					scalar("email", 2, str),
				},
			},
			{
				Name: proto.String("Order"),
				Field: []*descriptorpb.FieldDescriptorProto{
					scalar("id", 1, str),
					scalar("quantity", 2, descriptorpb.FieldDescriptorProto_TYPE_INT64),
					scalar("price", 3, descriptorpb.FieldDescriptorProto_TYPE_DOUBLE),
					repeated(typed("items", 4, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, ".raygate.demo.v1.Item")),
					typed("status", 5, descriptorpb.FieldDescriptorProto_TYPE_ENUM, ".raygate.demo.v1.Status"),
					// A map field is, in a descriptor, a repeated field of a
					// nested message named after the field (LabelsEntry) with
					// map_entry set and fields key = 1, value = 2.
					repeated(typed("labels", 6, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, ".raygate.demo.v1.Order.LabelsEntry")),
					scalar("gift", 7, descriptorpb.FieldDescriptorProto_TYPE_BOOL),
					scalar("note", 8, descriptorpb.FieldDescriptorProto_TYPE_BYTES),
					typed("customer", 9, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, ".raygate.demo.v1.Customer"),
				},
				NestedType: []*descriptorpb.DescriptorProto{{
					Name: proto.String("LabelsEntry"),
					Field: []*descriptorpb.FieldDescriptorProto{
						scalar("key", 1, str),
						scalar("value", 2, str),
					},
					Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
				}},
			},
		},
	}
}

// scalar is a singular proto3 field. protoc fills in json_name for every
// field of a descriptor set; so does this.
func scalar(name string, num int32, t descriptorpb.FieldDescriptorProto_Type) *descriptorpb.FieldDescriptorProto {
	return &descriptorpb.FieldDescriptorProto{
		Name:     proto.String(name),
		Number:   proto.Int32(num),
		Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
		Type:     t.Enum(),
		JsonName: proto.String(jsonName(name)),
	}
}

// typed is a singular field of a message or enum type (a fully qualified
// reference with a leading dot, as protoc writes it).
func typed(name string, num int32, t descriptorpb.FieldDescriptorProto_Type, typeName string) *descriptorpb.FieldDescriptorProto {
	f := scalar(name, num, t)
	f.TypeName = proto.String(typeName)
	return f
}

func repeated(f *descriptorpb.FieldDescriptorProto) *descriptorpb.FieldDescriptorProto {
	f.Label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	return f
}

// jsonName is protoc's lowerCamelCase: each underscore is dropped and the
// letter after it upper-cased.
func jsonName(name string) string {
	out := make([]byte, 0, len(name))
	upper := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '_' {
			upper = true
			continue
		}
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		upper = false
		out = append(out, c)
	}
	return string(out)
}
