// Command apidocs generates docs/api.md, the CRD API reference, from config/crd/bases.
package main
