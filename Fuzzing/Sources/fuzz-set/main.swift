// libFuzzer runs fuzzSet (see FuzzSet.swift).
import FuzzSupport

runFuzzer(fuzzSet)
