/// An HPA's `spec.behavior` for one direction (autoscaling/v2 HPAScalingRules).
public struct ScalingRules: Sendable, Equatable {
    public enum Select: Sendable, Equatable { case max, min, disabled }

    public struct Policy: Sendable, Equatable {
        public enum Kind: Sendable, Equatable { case pods, percent }
        public var kind: Kind
        public var value: Int
        public var periodSeconds: Double
        public init(_ kind: Kind, _ value: Int, periodSeconds: Double) {
            self.kind = kind
            self.value = value
            self.periodSeconds = periodSeconds
        }
    }

    public var stabilizationSeconds: Double
    public var select: Select
    public var policies: [Policy]

    public init(stabilizationSeconds: Double, select: Select = .max, policies: [Policy]) {
        self.stabilizationSeconds = stabilizationSeconds
        self.select = select
        self.policies = policies
    }

    /// What the API server fills in when `behavior` is given without scaleUp: no window,
    /// the more of 100 % or 4 pods per 15 s.
    public static let defaultScaleUp = ScalingRules(
        stabilizationSeconds: 0,
        policies: [.init(.pods, 4, periodSeconds: 15), .init(.percent, 100, periodSeconds: 15)])

    /// ... and without scaleDown: a 300 s window (the controller's
    /// --horizontal-pod-autoscaler-downscale-stabilization), 100 % per 15 s.
    public static let defaultScaleDown = ScalingRules(
        stabilizationSeconds: 300, policies: [.init(.percent, 100, periodSeconds: 15)])

    /// The longest policy period: how long scale events must be remembered.
    var longestPeriod: Double { policies.map(\.periodSeconds).max() ?? 0 }
}

/// The autoscaler settings hpa-sim needs from an HPA object.
public struct HPASpec: Sendable, Equatable {
    public var minReplicas: Int
    public var maxReplicas: Int
    public var targetUtilization: Int
    /// nil: no `behavior` in the spec (the legacy rules: a 300 s scale-down window and at
    /// most max(2 × current, 4) up per sync).
    public var scaleUp: ScalingRules?
    public var scaleDown: ScalingRules?
    public var hasBehavior: Bool { scaleUp != nil || scaleDown != nil }

    public init(
        minReplicas: Int = 1, maxReplicas: Int, targetUtilization: Int, scaleUp: ScalingRules? = nil,
        scaleDown: ScalingRules? = nil
    ) {
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
        self.targetUtilization = targetUtilization
        self.scaleUp = scaleUp
        self.scaleDown = scaleDown
    }
}
