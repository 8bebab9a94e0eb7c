// Package controller reconciles VariantAutoscalings and the autoscaler's ConfigMaps: it is the
// only writer of VariantAutoscaling status and of the shared configuration.
package controller
