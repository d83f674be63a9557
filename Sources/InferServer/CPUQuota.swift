#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import Platform

/// The CPU a container may use, read from its cgroup: a pod limited to 500m has one
/// useful compute thread, however many cores the node has.
public enum CPUQuota {
    /// Cores from a cgroup v2 `cpu.max` ("150000 100000" → 1.5; "max 100000" → nil).
    public static func parse(cpuMax: String) -> Double? {
        let fields = cpuMax.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 1, let quota = Double(fields[0]), quota > 0 else { return nil }
        let period = fields.count >= 2 ? Double(fields[1]) ?? 100_000 : 100_000
        return period > 0 ? quota / period : nil
    }

    /// Cores from cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` (quota -1 → nil).
    public static func parse(cfsQuota: String, cfsPeriod: String) -> Double? {
        guard let quota = Double(trimmed(cfsQuota)), quota > 0,
            let period = Double(trimmed(cfsPeriod)), period > 0
        else { return nil }
        return quota / period
    }

    /// The quota that applies to this process, looked up under `root` (a test passes a
    /// folder of sample files): cgroup v2 first (the namespace root, then this process's
    /// own group from /proc/self/cgroup), then v1.
    public static func detect(root: String = "/sys/fs/cgroup", procSelfCgroup: String = "/proc/self/cgroup") -> Double?
    {
        var v2Paths = [root + "/cpu.max"]
        if let own = SmallFile.readText(procSelfCgroup)?.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) {
            let path = own.dropFirst(3)
            if path != "/" { v2Paths.insert(root + path + "/cpu.max", at: 0) }
        }
        for path in v2Paths {
            if let text = SmallFile.readText(path) { return parse(cpuMax: text) }
        }
        for dir in ["cpu,cpuacct", "cpu", "cpuacct,cpu"] {
            if let quota = SmallFile.readText("\(root)/\(dir)/cpu.cfs_quota_us"),
                let period = SmallFile.readText("\(root)/\(dir)/cpu.cfs_period_us")
            {
                return parse(cfsQuota: quota, cfsPeriod: period)
            }
        }
        return nil
    }

    /// Compute threads to run: the quota rounded up (a 1.5-core limit is used fully by
    /// two threads), never more than the cores this process may run on, at least one.
    public static func workers(quota: Double?, cores: Int) -> Int {
        guard let quota else { return max(1, cores) }
        let wanted = Int(quota.rounded(.up))
        return max(1, min(wanted, max(1, cores)))
    }

    /// Cores this process may be scheduled on (NIO reads the affinity mask, as nproc(1) does).
    public static func onlineCores() -> Int { max(1, System.coreCount) }

    private static func trimmed(_ s: String) -> Substring {
        s.drop(while: { $0 == " " }).prefix(while: { $0 != "\n" && $0 != " " })
    }

}
