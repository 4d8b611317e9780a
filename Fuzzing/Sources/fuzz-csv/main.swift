// libFuzzer runs fuzzCSV (see FuzzCSV.swift).
import FuzzSupport

runFuzzer(fuzzCSV)
