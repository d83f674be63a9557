extension RecordDecoder {
    static let powersOfTen: [Double] = (0...22).map { p in (0..<p).reduce(1.0) { acc, _ in acc * 10 } }

    /// A JSON number without exponent and with at most 18 significant digits, parsed
    /// exactly (one correctly rounded division); anything else → nil (jansson decides).
    static func number(_ base: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int) -> Scalar? {
        var j = i
        var negative = false
        if base[j] == UInt8(ascii: "-") {
            negative = true
            j += 1
        }
        guard j < end, base[j] >= 0x30, base[j] <= 0x39 else { return nil }
        if base[j] == 0x30, j + 1 < end, base[j + 1] >= 0x30, base[j + 1] <= 0x39 { return nil }  // leading zero
        var mantissa: UInt64 = 0
        var digits = 0
        while j < end, base[j] >= 0x30, base[j] <= 0x39 {
            mantissa = mantissa &* 10 &+ UInt64(base[j] - 0x30)
            digits += 1
            j += 1
        }
        var fraction = 0
        var isInteger = true
        if j < end, base[j] == UInt8(ascii: ".") {
            isInteger = false
            j += 1
            guard j < end, base[j] >= 0x30, base[j] <= 0x39 else { return nil }
            while j < end, base[j] >= 0x30, base[j] <= 0x39 {
                mantissa = mantissa &* 10 &+ UInt64(base[j] - 0x30)
                digits += 1
                fraction += 1
                j += 1
            }
        }
        if j < end, base[j] == UInt8(ascii: "e") || base[j] == UInt8(ascii: "E") { return nil }
        guard digits <= 18, fraction <= 22 else { return nil }
        var value = Double(mantissa)  // exact below 2^53; 18 digits may round once more
        if mantissa >= 1 << 53 { return nil }
        if fraction > 0 { value /= powersOfTen[fraction] }
        i = j
        return .number(negative ? -value : value, isInteger: isInteger)
    }
}
