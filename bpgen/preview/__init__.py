"""Labelled contact sheets of rendered images (masks, boxes, COCO skeletons), for people to look at.

Public API: ``sheet.draw_annotations``, ``sheet.contact_sheet``, ``sheet.sheet_of``; ``python -m bpgen.preview``.
"""
