"""Placeholder replaced by the directory router."""
from fastapi import APIRouter

router = APIRouter(tags=["directory"])
