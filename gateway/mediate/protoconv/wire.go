package protoconv

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// checkWire walks wire data against the message type before the library
// decodes it, and reports the first field the type does not declare, or
// that arrived with a wire type its declaration does not allow.
//
// The library's decoder would keep such fields as unknown fields, which the
// JSON mapping drops without a word; inside a map entry it drops them
// itself; and for dynamic messages it panics on a map entry whose key comes
// twice, the second time with the wrong wire type (protobuf-go v1.36.12,
// proto/decode.go unmarshalMap). One walk of the bytes here, without
// allocating, avoids all three. Malformed bytes are left to the decoder to
// report.
//
// It also looks inside google.protobuf.Any values, which the decoder keeps
// as bytes and the JSON mapping decodes later with no depth limit of its
// own: each nested Any costs a copy of what it holds, so nesting them is
// refused here past the limit like any other.
func (m *Message) checkWire(b []byte, lim Limits) error {
	if f := m.checkMessage(b, m.desc, 1, 0, lim.MaxDepth); f != nil {
		switch {
		case f.deep:
			return tooDeep(lim)
		case f.anys:
			return tooManyAnys()
		}
		return f.err()
	}
	return nil
}

// wireFault is a problem found by checkWire, with the path to it gathered on
// the way back up (innermost first), only once something is wrong.
type wireFault struct {
	deep bool // nested past the limit; nothing else is set
	anys bool // Any values nested past MaxAnyNesting; nothing else is set
	md   protoreflect.MessageDescriptor
	text string // with %s for where it is
	path []string
}

func (f *wireFault) err() error {
	where := string(f.md.FullName())
	if len(f.path) > 0 {
		var p strings.Builder
		for i := len(f.path) - 1; i >= 0; i-- {
			if p.Len() > 0 && !strings.HasPrefix(f.path[i], "[") {
				p.WriteByte('.')
			}
			p.WriteString(f.path[i])
		}
		where += " (at " + p.String() + ")"
	}
	return errorf(f.text, where)
}

// checkMessage checks b as md, at depth (top level 1) inside anys Any
// values.
func (m *Message) checkMessage(b []byte, md protoreflect.MessageDescriptor, depth, anys, maxDepth int) *wireFault {
	if depth > maxDepth {
		return &wireFault{deep: true}
	}
	var anyURL, anyValue []byte // the last of each wins, as in the decoder
	isAny := md.FullName() == "google.protobuf.Any"
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return nil
		}
		start := off
		off += n
		fd := md.Fields().ByNumber(num)
		if fd == nil && md.ExtensionRanges().Has(num) {
			xt, err := m.set.types.FindExtensionByNumber(md.FullName(), num)
			if err != nil {
				return &wireFault{md: md, text: fmt.Sprintf("unknown extension field %d in %%s (the descriptor set does not declare it)", num)}
			}
			fd = xt.TypeDescriptor()
		}
		if fd == nil {
			return &wireFault{md: md, text: fmt.Sprintf("unknown field %d in %%s", num)}
		}
		if !wireTypeFits(fd, typ) {
			return &wireFault{md: md, text: fmt.Sprintf("field %d (%s) in %%s has wire type %s, which does not fit its type %s",
				num, fd.Name(), wireTypeName(typ), fd.Kind())}
		}
		var sub []byte
		switch {
		case fd.Message() == nil:
			n = protowire.ConsumeFieldValue(num, typ, b[off:])
		case typ == protowire.StartGroupType:
			sub, n = protowire.ConsumeGroup(num, b[off:])
		default:
			sub, n = protowire.ConsumeBytes(b[off:])
		}
		if n < 0 {
			return nil
		}
		if isAny && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b[off:])
			switch num {
			case 1:
				anyURL = v
			case 2:
				anyValue = v
			}
		}
		off += n
		if fd.Message() == nil {
			continue
		}
		if f := m.checkMessage(sub, fd.Message(), depth+1, anys, maxDepth); f != nil {
			f.path = append(f.path, pathElem(b[:start], fd))
			return f
		}
	}
	if len(anyURL) > 0 {
		// An unresolvable type is the JSON encoder's to report.
		if anys+1 > MaxAnyNesting {
			return &wireFault{anys: true}
		}
		if mt, err := m.set.types.FindMessageByURL(string(anyURL)); err == nil {
			return m.checkMessage(anyValue, mt.Descriptor(), depth+1, anys+1, maxDepth)
		}
	}
	return nil
}

// pathElem names fd's value for an error: its JSON name, with the index of
// this occurrence for a repeated message, counted in the bytes before it.
// A map is named without its key: the entry's own fields come next.
func pathElem(before []byte, fd protoreflect.FieldDescriptor) string {
	name := fd.JSONName()
	if fd.IsExtension() {
		name = "[" + string(fd.FullName()) + "]"
	}
	if !fd.IsList() {
		return name
	}
	i := 0
	for off := 0; off < len(before); {
		num, typ, n := protowire.ConsumeTag(before[off:])
		if n < 0 {
			break
		}
		off += n
		if num == fd.Number() {
			i++
		}
		n = protowire.ConsumeFieldValue(num, typ, before[off:])
		if n < 0 {
			break
		}
		off += n
	}
	return fmt.Sprintf("%s[%d]", name, i)
}

// wireTypeFits reports whether a field of fd's kind may arrive with wire
// type typ; repeated numeric fields may come packed or not.
func wireTypeFits(fd protoreflect.FieldDescriptor, typ protowire.Type) bool {
	var want protowire.Type
	switch fd.Kind() {
	case protoreflect.BoolKind, protoreflect.EnumKind,
		protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Uint32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Uint64Kind:
		want = protowire.VarintType
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		want = protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		want = protowire.Fixed64Type
	case protoreflect.GroupKind:
		want = protowire.StartGroupType
	default: // string, bytes, message
		want = protowire.BytesType
	}
	if typ == want {
		return true
	}
	return fd.IsList() && typ == protowire.BytesType && want != protowire.StartGroupType
}

func wireTypeName(t protowire.Type) string {
	switch t {
	case protowire.VarintType:
		return "varint"
	case protowire.Fixed32Type:
		return "fixed32"
	case protowire.Fixed64Type:
		return "fixed64"
	case protowire.BytesType:
		return "length-delimited"
	case protowire.StartGroupType:
		return "start-group"
	case protowire.EndGroupType:
		return "end-group"
	}
	return fmt.Sprintf("%d", t)
}
