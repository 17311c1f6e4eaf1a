package dirs

import (
	"os"
	"path/filepath"
	"testing"
)

// PartitionAt finds the partition directory a path lies in, at any depth,
// by a relative name, or from within it by "." (then by its absolute name).
func TestPartitionAt(t *testing.T) {
	root := t.TempDir()
	part := filepath.Join(root, "live", "p4")
	if err := os.MkdirAll(filepath.Join(part, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(part, SuperName), []byte(SuperMagic+"rest of the slots"), 0o644)
	for path, want := range map[string]string{
		part:                                   part,
		filepath.Join(part, "sub"):             part,
		filepath.Join(part, "sub", "not-made"): part,
		filepath.Join(root, "live"):            "",
		filepath.Join(root, "elsewhere", "x"):  "",
	} {
		if got := PartitionAt(path); got != want {
			t.Errorf("PartitionAt(%s) = %q, want %q", path, got, want)
		}
	}
	t.Chdir(filepath.Join(part, "sub"))
	for path, want := range map[string]string{".": part, "deeper": part, "../sub": ".."} {
		if got := PartitionAt(path); got != want {
			t.Errorf("from within: PartitionAt(%s) = %q, want %q", path, got, want)
		}
	}
}
