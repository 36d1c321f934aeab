"""Training loops of the learned stages, and the helpers they share (:mod:`xdancer.train.common`)."""
