// libFuzzer runs fuzzPhe (see FuzzPhe.swift).
import FuzzSupport

runFuzzer(fuzzPhe)
