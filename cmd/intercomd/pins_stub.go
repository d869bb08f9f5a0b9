package main

// PLACEHOLDER for the GPIO engineer: when you add pins.go, DELETE THIS FILE in
// the same commit. pins.go must define `type gpioConfig struct` (the `gpio:`
// YAML section, with a Mode string `yaml:"mode"` field) and
// `func defaultGPIO() gpioConfig` returning the default pins (config.go uses both).
type gpioConfig struct {
	Mode string `yaml:"mode"`
}

func defaultGPIO() gpioConfig { return gpioConfig{Mode: "auto"} }
