"""Folkeverksted: booking for library makerspaces in Trøndelag."""

from makerspace.app import create_app

__all__ = ["create_app"]
