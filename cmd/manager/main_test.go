package main

import (
	"os"
	"testing"
)

// envManagerProcess makes the test binary run main() instead of the tests: a test starts the
// manager as its own process, with the arguments and environment of a rendered manifest.
const envManagerProcess = "WVA_TEST_MANAGER_PROCESS"

func TestMain(m *testing.M) {
	if os.Getenv(envManagerProcess) != "" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
