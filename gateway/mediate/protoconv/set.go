// Package protoconv converts between protobuf wire data and JSON for the
// gateway's mediation stage. This room holds descriptor sets and the
// conversion itself, nothing else: a descriptor set arrives as bytes from the
// configuration (protoc --include_imports --descriptor_set_out, base64 in the
// YAML), is compiled once by NewSet, and messages are then converted with
// google.golang.org/protobuf's dynamicpb, protojson and proto packages.
//
// It may touch only its inputs: no files, no network, no global protobuf
// registry (a set's types resolve only against that set), no cgo, so that it
// builds for the bare-metal image (GOOS=tamago). A Set and its Messages are
// immutable and safe for concurrent use. Every conversion is bounded by
// Limits before parsing starts, and every error is an *Error whose text a
// client may see.
package protoconv

import (
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Set is a compiled descriptor set: immutable, safe for concurrent use.
type Set struct {
	files    *protoregistry.Files
	types    *dynamicpb.Types // resolves Any and extensions within the set only
	messages map[string]*Message
	names    []string // sorted keys of messages
}

// NewSet parses a serialized google.protobuf.FileDescriptorSet (as protoc
// --include_imports --descriptor_set_out writes). Errors are specific: not a
// descriptor set, a missing import (named), duplicate definitions.
func NewSet(descriptorSet []byte) (*Set, error) {
	if len(descriptorSet) == 0 {
		return nil, errorf("empty descriptor set")
	}
	var fds descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(descriptorSet, &fds); err != nil {
		hint := ""
		if looksLikeBase64(descriptorSet) {
			hint = " (it looks like base64 text: decode it first)"
		}
		return nil, errorf("not a serialized google.protobuf.FileDescriptorSet: %s%s", cause(err), hint)
	}
	// Random bytes sometimes parse as a message of unknown fields; a real
	// descriptor set has nothing of the kind at its top level.
	if raw := fds.ProtoReflect().GetUnknown(); len(raw) > 0 {
		return nil, errorf("not a serialized google.protobuf.FileDescriptorSet: it holds field %d, which a descriptor set does not have", firstFieldNumber(raw))
	}
	if len(fds.File) == 0 {
		return nil, errorf("not a serialized google.protobuf.FileDescriptorSet: it holds no files")
	}
	if err := checkFiles(fds.File); err != nil {
		return nil, err
	}
	files, err := protodesc.NewFiles(&fds)
	if err != nil {
		return nil, errorf("invalid descriptor set: %s", cause(err))
	}

	s := &Set{
		files:    files,
		types:    dynamicpb.NewTypes(files),
		messages: make(map[string]*Message),
	}
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		s.addMessages(fd.Messages())
		return true
	})
	for name := range s.messages {
		s.names = append(s.names, name)
	}
	sort.Strings(s.names)
	return s, nil
}

// looksLikeBase64 reports whether b is all base64 alphabet (standard or
// URL-safe, with padding and line breaks): the usual mistake with a
// descriptor set copied out of a configuration.
func looksLikeBase64(b []byte) bool {
	for _, c := range b {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '+', c == '/', c == '-', c == '_', c == '=', c == '\n', c == '\r':
		default:
			return false
		}
	}
	return true
}

// addMessages records every message, nested ones too, except the synthetic
// map entries: they are not types anyone converts.
func (s *Set) addMessages(mds protoreflect.MessageDescriptors) {
	for i := 0; i < mds.Len(); i++ {
		md := mds.Get(i)
		if !md.IsMapEntry() {
			s.messages[string(md.FullName())] = &Message{
				set:        s,
				desc:       md,
				typ:        dynamicpb.NewMessageType(md),
				noRequired: !hasRequired(md, map[protoreflect.FullName]bool{}),
			}
		}
		s.addMessages(md.Messages())
	}
}

// Messages lists the full names of the set's messages, sorted (for the
// shell).
func (s *Set) Messages() []string {
	return append([]string(nil), s.names...)
}

// Message finds a message type by full name ("shop.v1.Order"); the error
// names what is missing.
func (s *Set) Message(fullName string) (*Message, error) {
	name := strings.TrimPrefix(fullName, ".") // protoc writes type references with a leading dot
	if m, ok := s.messages[name]; ok {
		return m, nil
	}
	if len(name) > 200 {
		name = name[:200] + "…"
	}
	name = strings.ToValidUTF8(name, "\uFFFD")
	// A short name is the usual slip: say which full names it could mean.
	var near []string
	for _, n := range s.names {
		if strings.HasSuffix(n, "."+name) {
			near = append(near, n)
		}
	}
	if len(near) > 0 {
		return nil, errorf("no message %q in the descriptor set (did you mean %s?)", name, strings.Join(near, " or "))
	}
	if d, err := s.files.FindDescriptorByName(protoreflect.FullName(name)); err == nil {
		if md, ok := d.(protoreflect.MessageDescriptor); ok && md.IsMapEntry() {
			return nil, errorf("%q is a map entry, not a message to convert", name)
		}
		return nil, errorf("%q in the descriptor set is not a message", name)
	}
	return nil, errorf("no message %q in the descriptor set", name)
}

// checkFiles finds, before protodesc does, the faults whose protodesc errors
// would be vague or depend on map order: files without names, a file twice,
// an import the set lacks, and a name defined twice.
func checkFiles(files []*descriptorpb.FileDescriptorProto) error {
	byName := make(map[string]bool, len(files))
	for i, f := range files {
		if f.GetName() == "" {
			return errorf("file #%d in the descriptor set has no name", i+1)
		}
		if byName[f.GetName()] {
			return errorf("duplicate definitions: file %q appears twice in the descriptor set", f.GetName())
		}
		byName[f.GetName()] = true
	}
	for _, f := range files {
		for _, dep := range f.GetDependency() {
			if !byName[dep] {
				return errorf("missing import: %q imports %q, which the descriptor set does not hold (build it with protoc --include_imports)", f.GetName(), dep)
			}
		}
	}
	defined := make(map[string]string) // full name -> file defining it
	for _, f := range files {
		var dup error
		define := func(name string) {
			if dup != nil {
				return
			}
			if prev, ok := defined[name]; ok {
				if prev == f.GetName() {
					dup = errorf("duplicate definitions: %s is defined twice in %q", name, prev)
				} else {
					dup = errorf("duplicate definitions: %s is defined in %q and in %q", name, prev, f.GetName())
				}
				return
			}
			defined[name] = f.GetName()
		}
		scope := f.GetPackage()
		walkFile(f, scope, define)
		if dup != nil {
			return dup
		}
	}
	return nil
}

// walkFile calls define with the full name of every declaration that
// occupies a name in the package's scope, as protoc and the registry count
// them: messages, enums, enum values (which are siblings of their enum, as
// in C++), extensions and services.
func walkFile(f *descriptorpb.FileDescriptorProto, pkg string, define func(string)) {
	join := func(scope, name string) string {
		if scope == "" {
			return name
		}
		return scope + "." + name
	}
	var walkEnums func(scope string, es []*descriptorpb.EnumDescriptorProto)
	walkEnums = func(scope string, es []*descriptorpb.EnumDescriptorProto) {
		for _, e := range es {
			define(join(scope, e.GetName()))
			for _, v := range e.GetValue() {
				define(join(scope, v.GetName()))
			}
		}
	}
	var walkMessages func(scope string, ms []*descriptorpb.DescriptorProto)
	walkMessages = func(scope string, ms []*descriptorpb.DescriptorProto) {
		for _, m := range ms {
			name := join(scope, m.GetName())
			define(name)
			walkEnums(name, m.GetEnumType())
			for _, x := range m.GetExtension() {
				define(join(name, x.GetName()))
			}
			walkMessages(name, m.GetNestedType())
		}
	}
	walkMessages(pkg, f.GetMessageType())
	walkEnums(pkg, f.GetEnumType())
	for _, x := range f.GetExtension() {
		define(join(pkg, x.GetName()))
	}
	for _, s := range f.GetService() {
		define(join(pkg, s.GetName()))
	}
}
