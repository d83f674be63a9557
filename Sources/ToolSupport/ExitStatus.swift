/// Exit statuses shared by every tool (ARCHITECTURE.md, "Conventions").
public enum ExitStatus {
    public static let success: Int32 = 0
    public static let failure: Int32 = 1
    public static let usage: Int32 = 2
    public static let refused: Int32 = 3
    public static let timedOut: Int32 = 124
    public static let interrupted: Int32 = 130
    public static let terminated: Int32 = 143
}
