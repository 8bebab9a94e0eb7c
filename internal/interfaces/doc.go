// Package interfaces holds the value types that engines, the controller and the actuator exchange:
// the per-variant scaling decision and the saturation scaling configuration.
package interfaces
