package protoconv

import (
	"bytes"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Message is one message type of a Set: immutable, safe for concurrent use.
type Message struct {
	set  *Set
	desc protoreflect.MessageDescriptor
	typ  protoreflect.MessageType
	// noRequired is set when no message reachable from this one has a
	// required field (proto2): then the library's checks for unset
	// required fields, each a walk of the whole message, can be skipped.
	noRequired bool
}

// Name is the message's full name ("shop.v1.Order").
func (m *Message) Name() string { return string(m.desc.FullName()) }

// ToJSON decodes protobuf wire bytes as the message and returns its
// canonical proto3 JSON (lowerCamelCase names, unpopulated fields left out).
// Unknown fields are an error naming the field number, rather than being
// dropped silently: a gateway that loses data without a word is worse than
// one that refuses it.
func (m *Message) ToJSON(wire []byte, lim Limits) (js []byte, err error) {
	lim = lim.orDefaults()
	if int64(len(wire)) > lim.MaxBytes {
		return nil, oversize("message", len(wire), lim)
	}
	if err := m.checkWire(wire, lim); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			js, err = nil, panicError(r)
		}
	}()
	msg := m.typ.New()
	err = proto.UnmarshalOptions{
		AllowPartial:   m.noRequired,
		RecursionLimit: lim.MaxDepth,
		Resolver:       m.set.types,
	}.Unmarshal(wire, msg.Interface())
	if err != nil {
		if isDepthError(err) {
			return nil, tooDeep(lim)
		}
		return nil, errorf("invalid %s wire data: %s", m.Name(), cause(err))
	}
	js, err = protojson.MarshalOptions{
		AllowPartial:    m.noRequired,
		UseProtoNames:   false,
		EmitUnpopulated: false,
		Resolver:        m.set.types,
	}.Marshal(msg.Interface())
	if err != nil {
		// An Any whose type the set lacks, or an invalid Duration or
		// Timestamp: the wire parsed, the JSON mapping has no form for it.
		return nil, errorf("%s has no JSON form: %s", m.Name(), cause(err))
	}
	return stableJSON(js), nil
}

// FromJSON parses proto3 JSON as the message (unknown JSON fields are an
// error naming the field) and returns deterministic wire bytes.
func (m *Message) FromJSON(js []byte, lim Limits) (wire []byte, err error) {
	lim = lim.orDefaults()
	if int64(len(js)) > lim.MaxBytes {
		return nil, oversize("JSON document", len(js), lim)
	}
	// protojson's decoder recurses and its own limit counts messages only;
	// refusing deep text here first keeps hostile input to one linear scan.
	// A repeated message or a map of messages takes two JSON levels for one
	// message level, hence twice MaxDepth.
	if err := scanJSON(js, 2*lim.MaxDepth, lim); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			wire, err = nil, panicError(r)
		}
	}()
	msg := m.typ.New()
	err = protojson.UnmarshalOptions{
		AllowPartial:   m.noRequired,
		DiscardUnknown: false,
		RecursionLimit: lim.MaxDepth,
		Resolver:       m.set.types,
	}.Unmarshal(js, msg.Interface())
	if err != nil {
		if isDepthError(err) {
			return nil, tooDeep(lim)
		}
		return nil, errorf("invalid %s JSON: %s", m.Name(), cause(err))
	}
	wire, err = proto.MarshalOptions{AllowPartial: m.noRequired, Deterministic: true}.Marshal(msg.Interface())
	if err != nil {
		return nil, errorf("cannot encode %s: %s", m.Name(), cause(err))
	}
	return wire, nil
}

// hasRequired reports whether md or a message reachable from it may hold a
// required field: one declares it, or takes extensions (whose messages
// could). seen breaks cycles (a cycle adds nothing new).
func hasRequired(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] {
		return false
	}
	seen[md.FullName()] = true
	if md.RequiredNumbers().Len() > 0 || md.ExtensionRanges().Len() > 0 {
		return true
	}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		if sub := fields.Get(i).Message(); sub != nil && hasRequired(sub, seen) {
			return true
		}
	}
	return false
}

// panicError is the error for a panic in the protobuf library, recovered:
// the library is not hardened against every hostile input to dynamic
// messages (see checkWire), and one bad request must not take the gateway
// down. The text says "internal" so that tests and fuzzers can tell.
func panicError(r any) error {
	return errorf("internal error in the protobuf library: %s", cause(fmt.Errorf("%v", r)))
}

// isDepthError recognises the libraries' recursion-limit errors, which are
// not exported as values.
func isDepthError(err error) bool {
	return strings.Contains(err.Error(), "recursion depth")
}

// stableJSON removes the space protojson puts after some commas. The
// library adds it at random (fixed per binary) so that nobody relies on its
// bytes; a gateway's output should not change with a rebuild, so it does.
func stableJSON(js []byte) []byte {
	if !bytes.Contains(js, []byte(", ")) {
		return js
	}
	out := js[:0] // in place: the output never grows
	inString := false
	for i := 0; i < len(js); i++ {
		c := js[i]
		out = append(out, c)
		if inString {
			switch c {
			case '\\':
				if i+1 < len(js) {
					i++
					out = append(out, js[i])
				}
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case ',':
			if i+1 < len(js) && js[i+1] == ' ' {
				i++
			}
		}
	}
	return out
}

// firstFieldNumber is the field number of the first tag in raw (0 if none
// parses).
func firstFieldNumber(raw []byte) protowire.Number {
	num, _, n := protowire.ConsumeTag(raw)
	if n < 0 {
		return 0
	}
	return num
}
