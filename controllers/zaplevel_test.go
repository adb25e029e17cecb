package controllers

import "go.uber.org/zap/zapcore"

type zapcoreLevel = zapcore.Level
