package collector

import "errors"

// ErrResponseTooLarge is returned (wrapped) by Collect when the metrics backend answered more
// than the source accepts (too many bytes or too many series for one query). Nothing is
// observed; the engine holds the previous decisions.
var ErrResponseTooLarge = errors.New("metrics response too large")
