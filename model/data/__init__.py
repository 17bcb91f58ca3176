"""Data: rasteriser, synthetic Anny renders in the DensePose-COCO layout."""
