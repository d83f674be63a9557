import Prometheus
import Synchronization

/// The OpenAI face's metrics under vLLM's names and labels (`vllm:…`, `model_name`), so
/// dashboards, adapters and autoscalers built for vLLM read infer-serve unchanged.
/// Registered in the server's registry, beside its own `infer_*` metrics.
final class GenerationMetrics: Sendable {
    private let running: Gauge
    private let waiting: Gauge
    private let ttft: DurationHistogram
    private let interToken: DurationHistogram
    private let perOutputToken: DurationHistogram
    private let e2e: DurationHistogram
    private let queueTime: DurationHistogram
    private let promptTokens: Counter
    private let generationTokens: Counter
    private let success: Mutex<[String: Counter]> = Mutex([:])
    private let registry: PrometheusCollectorRegistry
    private let model: String

    init(registry: PrometheusCollectorRegistry, model: String) {
        self.registry = registry
        self.model = model
        let labels = [("model_name", model)]
        func histogram(_ name: String, _ help: String, _ buckets: [Duration]) -> DurationHistogram {
            registry.makeDurationHistogram(
                descriptor: .init(metricName: name, unitName: "seconds", helpText: help),
                labels: labels, buckets: buckets)
        }
        func counter(_ name: String, _ help: String) -> Counter {
            registry.makeCounter(descriptor: .init(metricName: name, unitName: "total", helpText: help), labels: labels)
        }
        func gauge(_ name: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: .init(metricName: name, unitName: "", helpText: help), labels: labels)
        }
        running = gauge("vllm:num_requests_running", "Number of requests in model execution batches.")
        waiting = gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.")
        // vLLM's bucket edges for each, so queries written for it keep their meaning.
        ttft = histogram(
            "vllm:time_to_first_token", "Histogram of time to first token in seconds.",
            [
                0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160,
                640, 2560,
            ].map(Self.seconds))
        let itl = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80].map(
            Self.seconds)
        interToken = histogram("vllm:inter_token_latency", "Histogram of inter-token latency in seconds.", itl)
        perOutputToken = histogram("vllm:time_per_output_token", "Histogram of time per output token in seconds.", itl)
        let request = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680]
            .map(Self.seconds)
        e2e = histogram("vllm:e2e_request_latency", "Histogram of e2e request latency in seconds.", request)
        queueTime = histogram(
            "vllm:request_queue_time", "Histogram of time spent in WAITING phase for request.", request)
        promptTokens = counter("vllm:prompt_tokens", "Number of prefill tokens processed.")
        generationTokens = counter("vllm:generation_tokens", "Number of generation tokens processed.")
    }

    static func seconds(_ s: Double) -> Duration { .nanoseconds(Int64(s * 1e9)) }

    func requests(running: Int, waiting: Int) {
        self.running.set(Double(running))
        self.waiting.set(Double(waiting))
    }

    func queued(nanoseconds: UInt64) { queueTime.recordNanoseconds(Int64(nanoseconds)) }
    func firstToken(nanoseconds: UInt64) { ttft.recordNanoseconds(Int64(nanoseconds)) }

    func interTokenGap(nanoseconds: UInt64) {
        interToken.recordNanoseconds(Int64(nanoseconds))
        perOutputToken.recordNanoseconds(Int64(nanoseconds))
    }

    /// Counted as the work is done, so a rate over them is the throughput of the moment.
    func prefilled(tokens: Int) { promptTokens.increment(by: Int64(tokens)) }
    func generated() { generationTokens.increment() }

    /// A request that ended: `reason` is stop, length or abort (the client went away).
    func finished(reason: String, nanoseconds: UInt64) {
        e2e.recordNanoseconds(Int64(nanoseconds))
        let counter = success.withLock { counters in
            if let c = counters[reason] { return c }
            let c = registry.makeCounter(
                descriptor: .init(
                    metricName: "vllm:request_success", unitName: "total",
                    helpText: "Count of successfully processed requests."),
                labels: [("model_name", model), ("finished_reason", reason)])
            counters[reason] = c
            return c
        }
        counter.increment()
    }
}
