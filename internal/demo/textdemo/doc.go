// Package textdemo trains the demo text models.
package textdemo
