package convert

// Limits bound one conversion. Zero (or negative) fields mean the defaults
// (DefaultLimits).
type Limits struct {
	MaxDepth int   // nesting of elements/objects/arrays (default 64)
	MaxNodes int   // elements + attributes + values (default 100000)
	MaxBytes int64 // input size (default 4 MiB); larger input is an error, not truncated
}

// DefaultLimits are used where a field of Limits is zero.
var DefaultLimits = Limits{MaxDepth: 64, MaxNodes: 100000, MaxBytes: 4 << 20}

// outputFactor bounds output to outputFactor × MaxBytes. Without it a small
// input could ask for a huge output: a long key over a long JSON array is
// written once per item as a start and an end tag (or a form key).
const outputFactor = 16

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = DefaultLimits.MaxNodes
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	return l
}

func (l Limits) maxOutput() int64 {
	if l.MaxBytes > (1<<62)/outputFactor {
		return 1 << 62
	}
	return l.MaxBytes * outputFactor
}

// checkSize refuses input over MaxBytes up front: nothing is truncated.
func (l Limits) checkSize(f Format, data []byte) error {
	if int64(len(data)) > l.MaxBytes {
		return errorf(f, "input of %d bytes is larger than the limit of %d", len(data), l.MaxBytes)
	}
	return nil
}
