package gcguard

const childEnv = "GCGUARD_TEST_CHILD"

func runChild() int { return 0 }
