//go:build !unix

package extsort

func openFileLimit() uint64 { return 0 }
