"""The snnx intermediate representation: `Graph` of `Node` primitives, files, shapes, checks."""

from snnx.ir.graph import Graph
from snnx.ir.nirfile import read, write
from snnx.ir.node import Node
from snnx.ir.schema import ELEMENTWISE, SCHEMA, SPIKING, STATEFUL
from snnx.ir.shapes import GraphShapes, NodeShape, infer_shapes

__all__ = [
    "ELEMENTWISE",
    "SCHEMA",
    "SPIKING",
    "STATEFUL",
    "Graph",
    "GraphShapes",
    "Node",
    "NodeShape",
    "infer_shapes",
    "read",
    "write",
]
