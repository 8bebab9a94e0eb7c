// Package config turns the autoscaler's ConfigMaps into typed, validated configuration: the
// optimization interval and the saturation thresholds per model.
package config
