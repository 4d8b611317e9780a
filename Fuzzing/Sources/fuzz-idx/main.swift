// libFuzzer runs fuzzIDX (see FuzzIDX.swift).
import FuzzSupport

runFuzzer(fuzzIDX)
