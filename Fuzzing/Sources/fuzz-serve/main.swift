// libFuzzer runs fuzzServe (see FuzzServe.swift).
import FuzzSupport

runFuzzer(fuzzServe)
