package httpapi

// MustAccess exposes route registration's table lookup to the tests.
var MustAccess = mustAccess
