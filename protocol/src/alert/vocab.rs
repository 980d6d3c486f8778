//! The closed vocabularies of alerts: kinds, directions, the CAP 1.2
//! scales, status, state, needs and steps. Each is a fieldless enum with a
//! snake_case wire name, `as_str`, `ALL`, `Display` and `FromStr`.

use crate::Country;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Declares a fieldless wire enum with its snake_case names, `as_str`,
/// `ALL`, `Display` and `FromStr`, so the names are written once.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $wire)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| {
                        let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        format!("unknown value `{}` (expected one of {})", s.chars().take(40).collect::<String>(), names.join(", "))
                    })
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum! {
    /// What is happening at the post.
    AlertKind {
        /// Many people arriving at the post from the other side.
        MassArrival = "mass_arrival",
        /// Many people leaving through the post to the other side.
        MassDeparture = "mass_departure",
        /// A flow that is unusual in size, make-up or timing, without being a mass movement yet.
        UnusualFlow = "unusual_flow",
        /// Health screening of travellers (an outbreak, a suspected case).
        HealthScreening = "health_screening",
        /// A security incident at or near the crossing.
        SecurityIncident = "security_incident",
        /// The crossing is closed.
        BorderClosure = "border_closure",
        /// The crossing is open again.
        BorderReopening = "border_reopening",
        /// Anything else; describe it in the text.
        Other = "other",
    }
}

wire_enum! {
    /// Which way the people are moving.
    Direction {
        /// From Tanzania into Burundi.
        IntoBurundi = "into_burundi",
        /// From Burundi into Tanzania.
        IntoTanzania = "into_tanzania",
    }
}

impl Direction {
    /// The country the people are moving into.
    pub fn destination(self) -> Country {
        match self {
            Direction::IntoBurundi => Country::BI,
            Direction::IntoTanzania => Country::TZ,
        }
    }
}

wire_enum! {
    /// How bad it is: the CAP 1.2 severity scale.
    Severity {
        /// Extraordinary threat to life or property.
        Extreme = "extreme",
        /// Significant threat to life or property.
        Severe = "severe",
        /// Possible threat to life or property.
        Moderate = "moderate",
        /// Minimal to no known threat to life or property.
        Minor = "minor",
        /// Not known.
        Unknown = "unknown",
    }
}

wire_enum! {
    /// How soon to act: the CAP 1.2 urgency scale.
    Urgency {
        /// Act now.
        Immediate = "immediate",
        /// Act soon (within the next hour).
        Expected = "expected",
        /// Act in the near future.
        Future = "future",
        /// No action needed any more.
        Past = "past",
        /// Not known.
        Unknown = "unknown",
    }
}

wire_enum! {
    /// How sure the reporter is: the CAP 1.2 certainty scale.
    Certainty {
        /// Seen or verified.
        Observed = "observed",
        /// More likely than not (p > ~50%).
        Likely = "likely",
        /// Possible but not likely (p <= ~50%).
        Possible = "possible",
        /// Not expected to happen (p ~ 0).
        Unlikely = "unlikely",
        /// Not known.
        Unknown = "unknown",
    }
}

wire_enum! {
    /// Whether the alert is real. Exercise and test alerts are shown, counted
    /// and exported as such everywhere (CAP `status`).
    AlertStatus {
        /// A real event: act on it.
        Actual = "actual",
        /// Part of an exercise: do not act outside the exercise.
        Exercise = "exercise",
        /// A technical test: ignore.
        Test = "test",
    }
}

wire_enum! {
    /// Where an alert is in its life.
    AlertState {
        /// Raised and not yet closed; it may be acknowledged, updated or escalated.
        Open = "open",
        /// Closed because the situation was handled.
        Resolved = "resolved",
        /// Closed because it was raised in error.
        Cancelled = "cancelled",
    }
}

wire_enum! {
    /// What the people on the move need.
    Need {
        /// Drinking water.
        Water = "water",
        /// Food.
        Food = "food",
        /// Shelter for the night or longer.
        Shelter = "shelter",
        /// Medical care.
        Medical = "medical",
        /// Transport onward (e.g. to a transit centre).
        Transport = "transport",
        /// Protection (separated children, survivors of violence).
        Protection = "protection",
    }
}

wire_enum! {
    /// One step in an alert's life, as recorded in [`AlertChange`](super::AlertChange).
    AlertStep {
        /// The alert was raised.
        Raised = "raised",
        /// A post (usually the facing one) acknowledged it.
        Acknowledged = "acknowledged",
        /// Its headcount, needs, scales or text changed.
        Updated = "updated",
        /// It was closed as handled.
        Resolved = "resolved",
        /// It was closed as raised in error.
        Cancelled = "cancelled",
        /// Nobody acknowledged it in time: it was escalated one level.
        Escalated = "escalated",
    }
}
