import Hummingbird
import Logging

/// Maps every error to `{"error": "..."}` with its status, once, at the HTTP edge; and records request metrics.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: AgentMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as AgentError {
            response = JSONResponse.error(.init(code: error.httpStatus), error.message, headers: Self.headers(for: error))
        } catch let error as HTTPError {
            response = JSONResponse.error(error.status, error.body ?? Self.defaultMessage(error.status), headers: error.headers)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            response = JSONResponse.error(.internalServerError, "internal error")
        }
        let route = context.endpointPath ?? "unmatched"
        metrics.recordRequest(route: route, method: request.method.rawValue, status: response.status.code, duration: .now - start)
        return response
    }

    /// `Retry-After` for an overloaded model, `WWW-Authenticate` for a missing or wrong token,
    /// `Accept-Encoding` (RFC 7694) for a body in an encoding podagent does not read.
    static func headers(for error: AgentError) -> HTTPFields {
        var fields = HTTPFields()
        if let seconds = error.retryAfterSeconds { fields[.retryAfter] = String(max(1, seconds)) }
        if error.code == .unauthorized { fields[.wwwAuthenticate] = #"Bearer realm="podagent""# }
        if error.code == .unsupportedContentEncoding { fields[.acceptEncoding] = BodyIntake.acceptedEncodings }
        return fields
    }

    static func defaultMessage(_ status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "no such route"
        default: status.reasonPhrase.lowercased()
        }
    }
}
