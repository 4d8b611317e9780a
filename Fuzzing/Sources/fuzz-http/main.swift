// libFuzzer runs fuzzHTTP (see FuzzHTTP.swift).
import FuzzSupport

runFuzzer(fuzzHTTP)
