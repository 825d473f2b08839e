package web

func (s *Server) insightRoutes(page func(pattern string, h pageFunc)) {}
