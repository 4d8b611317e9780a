// libFuzzer runs fuzzSpec (see FuzzSpec.swift).
import FuzzSupport

runFuzzer(fuzzSpec)
