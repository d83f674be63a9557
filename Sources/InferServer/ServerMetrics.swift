import CoreMetrics
import Prometheus
import Synchronization

/// The server's Prometheus metrics, recorded through swift-metrics into a registry of
/// its own (not the process-wide MetricsSystem), so tests can run several servers.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let requests = Mutex<[RouteStatus: CoreMetrics.Counter]>([:])
    private let latency = Mutex<[String: CoreMetrics.Timer]>([:])
    private let shed: CoreMetrics.Counter
    private let workCPU: CoreMetrics.FloatingPointCounter
    private let inFlight: CoreMetrics.Gauge
    private let queueDepth: CoreMetrics.Gauge
    private let workers: CoreMetrics.Gauge
    /// The OpenAI face's vLLM-named metrics, in the same registry.
    let generation: GenerationMetrics?

    private struct RouteStatus: Hashable {
        let route: String
        let status: Int
    }

    public init(version: String, modelName: String? = nil) {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Buckets from a cheap probe (~50 µs) to a request stuck behind a long queue.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        self.factory = factory
        shed = CoreMetrics.Counter(label: "infer_shed_total", factory: factory)
        workCPU = CoreMetrics.FloatingPointCounter(label: "infer_work_cpu_seconds_total", factory: factory)
        inFlight = CoreMetrics.Gauge(label: "infer_inflight_requests", factory: factory)
        queueDepth = CoreMetrics.Gauge(label: "infer_queue_depth", factory: factory)
        workers = CoreMetrics.Gauge(label: "infer_compute_workers", factory: factory)
        CoreMetrics.Gauge(label: "infer_build_info", dimensions: [("version", version)], factory: factory).record(1)
        let registry = self.registry
        generation = modelName.map { GenerationMetrics(registry: registry, model: $0) }
    }

    /// Counts a finished request and its latency. `route` must come from a fixed set
    /// (unknown paths are "other"), so a scanner cannot blow up the label space.
    public func recordRequest(route: String, status: Int, nanoseconds: Int64) {
        let key = RouteStatus(route: route, status: status)
        let counter = requests.withLock { counters in
            if let c = counters[key] { return c }
            let c = CoreMetrics.Counter(
                label: "infer_http_requests_total", dimensions: [("route", route), ("status", String(status))],
                factory: factory)
            counters[key] = c
            return c
        }
        counter.increment()
        let timer = latency.withLock { timers in
            if let t = timers[route] { return t }
            let t = CoreMetrics.Timer(
                label: "infer_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            timers[route] = t
            return t
        }
        timer.recordNanoseconds(nanoseconds)
    }

    public func recordShed() { shed.increment() }

    public func recordWork(cpuSeconds: Double) { workCPU.increment(by: cpuSeconds) }

    /// The Prometheus text exposition, with the pool's gauges read just now.
    func render(pool: ComputePool, slots: GenerationSlots) -> [UInt8] {
        let (running, waiting) = slots.counts
        generation?.requests(running: running, waiting: waiting)
        inFlight.record(pool.inFlight)
        queueDepth.record(pool.queueDepth)
        workers.record(pool.workers)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        registry.emit(into: &buffer)
        return buffer
    }
}
