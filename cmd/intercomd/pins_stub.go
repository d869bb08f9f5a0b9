package main

// Placeholder until gpio lands (pins.go replaces this file).
type gpioConfig struct {
	Mode string `yaml:"mode"`
}

func defaultGPIO() gpioConfig { return gpioConfig{Mode: "auto"} }
