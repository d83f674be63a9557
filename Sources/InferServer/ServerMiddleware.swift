import HTTPTypes
import Hummingbird
import Platform
import Logging

/// Wraps every request: turns thrown HTTP errors into `{"error": …}` bodies, stamps
/// `X-Served-By`, records the request metrics and, if asked, an access-log line.
struct ServerMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let pod: String
    let accessLog: Logger?

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = CPUClock.monotonicNanos()
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError {
            response = InferRoutes.error(error.status, error.body ?? error.status.reasonPhrase)
            for field in error.headers { response.headers.append(field) }
        } catch let error as HTTPResponseError {
            response = InferRoutes.error(error.status, error.status.reasonPhrase)
        }
        response.headers[.servedBy] = pod
        let path = request.uri.path
        let route = InferRoutes.allowed.contains(where: { $0.path == path }) ? path : "other"
        let elapsed = CPUClock.monotonicNanos() - start
        metrics.recordRequest(route: route, status: response.status.code, nanoseconds: Int64(elapsed))
        accessLog?.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue), "path": .string(path),
                "status": .stringConvertible(response.status.code),
                "ms": .stringConvertible(Double(elapsed / 1000) / 1000),
            ])
        return response
    }
}

extension HTTPField.Name {
    /// The replica that answered, for per-pod statistics.
    static let servedBy = HTTPField.Name("X-Served-By")!
}
