// libFuzzer runs fuzzSafeTensors (see FuzzSafeTensors.swift).
import FuzzSupport

runFuzzer(fuzzSafeTensors)
